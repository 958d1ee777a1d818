"""A personalised video page in a real browser (headless Chromium, Playwright): it plays a small
WebM the test makes (PyAV's VP8 encoder), its script reports the play and the 25/50% marks (and
on, to the end) to the service, with no console error; with JavaScript off the page still shows
the video with its controls and the call to action, and records nothing but the page opened and
the click."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.test_preferences import FEED, running, settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MEDIA = "https://media.agency.example"
CTA = "https://agency.example/refer-a-friend"


def webm(seconds: float = 2.0, fps: int = 10) -> bytes:
    """A tiny valid WebM (VP8, 64x64, a grey that brightens), made here."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        frames = int(seconds * fps)
        for i in range(frames):
            image = np.full((64, 64, 3), int(255 * i / frames), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def until(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def events(url: str) -> list[str]:
    return [
        e["event"] for e in requests.get(f"{url}/feed", headers=FEED, timeout=10).json()["events"]
    ]


@pytest.fixture
def service(tmp_path: Path) -> Any:
    with running(settings(tmp_path, video_page_base="http://127.0.0.1/v")) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Any:
    """One headless Chromium for the module's tests (autoplay allowed: the test plays)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed here (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        yield browser
        browser.close()


def register(url: str, touchpoint: str) -> str:
    page = {
        "candidate_id": 7,
        "milestone": "referral_ask",
        "first_name": "Zoë O'Brien",
        "job_title": "Chef",
        "company": "Café Noir",
        "recruiter_name": "Siân",
        "recording": f"{MEDIA}/clip.webm",
        "kind": "file",
        "poster": None,
        "cta_kind": "referral",
        "cta_url": CTA,
    }
    answer = requests.put(f"{url}/videos/{touchpoint}", json=page, headers=FEED, timeout=10)
    assert answer.status_code == 201
    return answer.json()["url"].replace("http://127.0.0.1", url)


def test_the_page_plays_and_reports_what_was_watched(service: str, browser: Any) -> None:
    from playwright.sync_api import expect

    link = register(service, "referral_ask:placement:14:1")
    clip, errors, fetched = webm(), [], []

    def media(route: Any) -> None:  # the agency's media host, played by the test
        fetched.append(route.request.url)
        route.fulfill(status=200, body=clip, headers={"Content-Type": "video/webm"})

    context = browser.new_context()
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type in ("error", "warning") and errors.append(m.text))
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.route(f"{MEDIA}/**", media)
        page.goto(link)
        expect(page.locator("h1")).to_contain_text("Zoë O'Brien")
        video = page.locator("video#video")
        expect(video).to_have_attribute("controls", "")
        # (evaluated by the browser's devtools protocol: the page's policy allows no eval)
        until(lambda: page.evaluate("document.getElementById('video').readyState >= 1"))
        assert page.evaluate("document.getElementById('video').duration") > 1.5
        page.evaluate("document.getElementById('video').play()")
        until(lambda: "watched_50" in events(service))
        until(lambda: "watched_100" in events(service))
    finally:
        context.close()
    assert fetched and errors == []
    assert events(service) == [
        "page_opened", "played", "watched_25", "watched_50", "watched_75", "watched_100"
    ]  # fmt: skip


def test_without_javascript_the_page_still_works(service: str, browser: Any) -> None:
    link = register(service, "referral_ask:placement:15:1")
    errors: list[str] = []
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.route(f"{MEDIA}/**", lambda route: route.fulfill(status=200, body=webm()))
        page.route(f"{CTA}*", lambda route: route.fulfill(status=200, body="the form"))
        page.goto(link)
        assert page.locator("video#video[controls]").count() == 1
        page.get_by_role("link", name="Refer a friend").click()
        page.wait_for_url(f"{CTA}*")
    finally:
        context.close()
    assert errors == []
    assert events(service) == ["page_opened", "cta_clicked"]
