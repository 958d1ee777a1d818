"""The candidates' preferences service (issue 21, part 2): GET changes nothing, the confirming
POST and the RFC 8058 one-click POST opt out once, forged, altered and expired tokens are refused
with nothing recorded, the referral link records its click and redirects with an opaque
reference, requests are rate-limited, the feed needs its token, and an event acknowledged
"done" survives the service being killed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import uvicorn
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner

from aftercare.messages import referral_link, unsubscribe_link
from aftercare.preferences.app import ServiceSettings, create_app
from aftercare.preferences.process import start_service
from sandbox.ports import free_port

SECRET = "test-signing-secret-0123456789"  # noqa: S105
FEED_TOKEN = "test-feed-token"  # noqa: S105
FEED = {"Authorization": f"Bearer {FEED_TOKEN}"}
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def settings(tmp_path: Path, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "secret": SECRET,
        "feed_token": FEED_TOKEN,
        "store_path": tmp_path / "events.sqlite",
        "referral_form_url": "https://agency.example/refer?src=aftercare",
        "referral_max_age_seconds": 30 * 86400,
        "requests_per_minute": 1000,
        "agency_name": "Demo <Recruitment> & Co",
        "video_page_base": "https://p.example/v",
        "video_origins": frozenset({"https://media.agency.example"}),
    }
    return ServiceSettings(**(values | overrides))


@pytest.fixture
def client(tmp_path: Path) -> Any:
    with TestClient(create_app(settings(tmp_path)), follow_redirects=False) as client:
        yield client


def token(candidate_id: int = 7, channel: str = "email", touchpoint: str = "check_in:p:1:1") -> str:
    link = unsubscribe_link(
        "https://p.example/unsubscribe", SECRET, candidate_id, channel, touchpoint
    )
    return link.split("token=")[1]


def feed(client: Any, after: int = 0) -> list[dict[str, Any]]:
    response = client.get("/feed", params={"after": after}, headers=FEED)
    assert response.status_code == 200
    return response.json()["events"]


def test_get_shows_the_choices_and_changes_nothing(client: Any) -> None:
    for _ in range(3):  # a mail scanner, a preview, the candidate
        page = client.get("/unsubscribe", params={"token": token(channel="sms")})
        assert page.status_code == 200
        assert 'value="sms" checked' in page.text
        for choice in ("email", "sms", "all", "marketing"):
            assert f'value="{choice}"' in page.text
        assert 'method="post"' in page.text
        assert "Demo &lt;Recruitment&gt; &amp; Co" in page.text  # autoescaped
        assert page.headers["cache-control"] == "no-store"
    assert feed(client) == []


def test_confirming_post_and_one_click_opt_out_once(client: Any) -> None:
    first = client.post("/unsubscribe", params={"token": token()}, data={"choice": "marketing"})
    assert first.status_code == 200 and "no more marketing messages" in first.text
    again = client.post("/unsubscribe", params={"token": token()}, data={"choice": "marketing"})
    assert again.status_code == 200
    # RFC 8058: the body alone, the token's channel; a 200, not a redirect; twice is once
    for _ in range(2):
        one_click = client.post("/unsubscribe", params={"token": token()}, data=ONE_CLICK)
        assert one_click.status_code == 200 and "no more emails" in one_click.text
    # multipart/form-data is allowed too (RFC 8058 section 3.1)
    multipart = client.post(
        "/unsubscribe",
        params={"token": token(8, "sms", "t2")},
        files={"List-Unsubscribe": (None, "One-Click")},
    )
    assert multipart.status_code == 200

    events = feed(client)
    got = [(e["candidate_id"], e["channel"], e["touchpoint_id"], e["source"]) for e in events]
    assert got == [
        (7, "marketing", "check_in:p:1:1", "page"),
        (7, "email", "check_in:p:1:1", "one_click"),
        (8, "sms", "t2", "one_click"),
    ]
    assert [e["seq"] for e in feed(client, after=events[0]["seq"])] == [
        e["seq"] for e in events[1:]
    ]


def test_a_post_without_a_choice_records_nothing(client: Any) -> None:
    for data in ({}, {"choice": "everything"}, {"List-Unsubscribe": "Two-Clicks"}):
        assert client.post("/unsubscribe", params={"token": token()}, data=data).status_code == 400
    assert feed(client) == []


def test_forged_altered_or_expired_tokens_are_refused_and_nothing_recorded(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = token()
    forged = unsubscribe_link("https://p.example/u", "another-secret", 7, "email", "t").split("=")[
        1
    ]
    payload, signature = good.split(".")
    altered = token(candidate_id=8).split(".")[0] + "." + signature
    for bad in (forged, altered, good[:-3] + "abc", "", "garbage"):
        assert client.get("/unsubscribe", params={"token": bad}).status_code == 400
        response = client.post("/unsubscribe", params={"token": bad}, data=ONE_CLICK)
        assert response.status_code == 400 and "not valid" in response.text
    referral = referral_link("https://p.example/refer", SECRET, 7, "referral_ask:p:1:1")
    ref = referral.split("ref=")[1]
    assert client.get("/refer", params={"ref": ref[:-2] + "xx"}).status_code == 400
    with monkeypatch.context() as patched:  # a referral link sent 31 days ago
        patched.setattr(
            TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 31 * 86400
        )
        old = referral_link("https://p.example/refer", SECRET, 7, "referral_ask:p:1:1")
    expired = client.get("/refer", params={"ref": old.split("ref=")[1]})
    assert expired.status_code == 410 and "expired" in expired.text
    assert feed(client) == []


def test_referral_click_is_recorded_and_redirected_with_an_opaque_reference(client: Any) -> None:
    ref = referral_link("https://p.example/refer", SECRET, 7, "referral_ask:p:1:1").split("ref=")[1]
    first = client.get("/refer", params={"ref": ref})
    second = client.get("/refer", params={"ref": ref})
    assert first.status_code == second.status_code == 303
    target = first.headers["location"]
    assert target.startswith("https://agency.example/refer?src=aftercare&ref=")
    assert second.headers["location"] == target  # one click recorded, one reference
    reference = target.split("ref=")[1]
    assert len(reference) == 16  # random, carrying neither the candidate nor the touchpoint
    assert ref not in target and "referral_ask" not in target
    [event] = feed(client)
    assert (event["kind"], event["candidate_id"], event["touchpoint_id"], event["reference"]) == (
        "referral_click",
        7,
        "referral_ask:p:1:1",
        reference,
    )


def test_requests_are_rate_limited_per_client(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, requests_per_minute=3))
    with TestClient(app) as client:
        answers = [client.get("/unsubscribe", params={"token": token()}) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
        blocked = client.post("/unsubscribe", params={"token": token()}, data=ONE_CLICK)
        assert blocked.status_code == 429
        assert client.get("/feed", headers=FEED).json()["events"] == []  # the feed is not limited


def test_the_feed_needs_its_token(client: Any) -> None:
    assert client.get("/feed").status_code == 401
    assert client.get("/feed", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/feed", headers=FEED).status_code == 200


@contextmanager
def running(
    settings: ServiceSettings, port: int | None = None, page_delay: float = 0.0
) -> Iterator[str]:
    """The service in this process (uvicorn in a thread) for the block, on ``port`` (else a
    free one); the first registration of each video page answered ``page_delay`` seconds late
    (the page registered before: a slow answer, or one lost to a client's timeout); yields its
    URL."""
    port = port or free_port()
    app = create_app(settings)
    if page_delay:
        answered: set[str] = set()

        @app.middleware("http")
        async def slow_pages(request: Any, call_next: Any) -> Any:
            response = await call_next(request)
            if request.method == "PUT" and request.url.path not in answered:
                answered.add(request.url.path)
                await asyncio.sleep(page_delay)
            return response

    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serving(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page_delay: float = 0.0
) -> Iterator[SimpleNamespace]:
    """The service in this process beside ``sandbox`` (after `tests.point_connections_at`),
    signing with the local setup's secret, its video pages at its own ``/v`` showing the
    config's recordings, and the ``aftercare_preferences`` connection pointing at it; yields
    ``url``, ``secret``, ``sandbox`` and the ``store`` path."""
    from aftercare import connections
    from aftercare.config import load_config

    secret = connections.get_connection(connections.SIGNING).password
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = settings(
        tmp_path,
        secret=secret,
        referral_max_age_seconds=86400,
        agency_name="Demo",
        video_page_base=f"{url}/v",
        video_origins=ServiceSettings.video_origins_of(load_config()),
    )
    with running(service, port, page_delay):
        monkeypatch.setenv(
            "AIRFLOW_CONN_AFTERCARE_PREFERENCES",
            json.dumps({"conn_type": "http", "host": url, "password": FEED_TOKEN}),
        )
        yield SimpleNamespace(url=url, secret=secret, sandbox=sandbox, store=service.store_path)


def serve(tmp_path: Path, port: int) -> subprocess.Popen:
    """``python -m aftercare.preferences serve`` on ``port``, its store under ``tmp_path``."""
    config = tmp_path / "aftercare.yaml"
    if not config.exists():
        text = Path(os.environ["AFTERCARE_CONFIG"]).read_text()
        config.write_text(text + f"\npreferences:\n  store_path: {tmp_path / 'events.sqlite'}\n")
    return start_service(port, SECRET, FEED_TOKEN, config=config)


def test_an_opt_out_acknowledged_survives_a_killed_service(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = serve(tmp_path, port)
    try:
        done = requests.post(
            f"{url}/unsubscribe", params={"token": token()}, data=ONE_CLICK, timeout=5
        )
        assert done.status_code == 200
    finally:
        process.send_signal(signal.SIGKILL)  # no shutdown: what was answered must be on disk
        process.wait(timeout=10)
    process = serve(tmp_path, port)
    try:
        events = requests.get(f"{url}/feed", headers=FEED, timeout=5).json()["events"]
        assert [(e["candidate_id"], e["channel"]) for e in events] == [(7, "email")]
        assert (tmp_path / "events.sqlite").exists()
    finally:
        process.terminate()
        process.wait(timeout=10)
