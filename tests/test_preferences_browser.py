"""The preferences service's pages in a real browser (headless Chromium): no console errors, no
script at all (the pages' Content-Security-Policy allows none), so the unsubscribe form is a
plain HTML form that works without JavaScript, and the referral link lands on the agency's
form with the click recorded."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from aftercare.messages import referral_link, unsubscribe_link
from tests.test_preferences import FEED, SECRET, running, settings


class Form(HTMLParser):
    """The first form of a page: method, action, and what submitting it as rendered sends
    (the checked radio buttons)."""

    def __init__(self) -> None:
        super().__init__()
        self.method, self.action, self.fields, self.buttons = None, None, {}, 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and self.method is None:
            self.method, self.action = values.get("method"), values.get("action")
        elif tag == "input" and "checked" in values:
            self.fields[values["name"]] = values["value"]
        elif tag == "button" and values.get("type") == "submit":
            self.buttons += 1


@pytest.fixture
def browser(tmp_path: Path):  # noqa: ANN201 - a function
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed here (.ci/run installs Debian's chromium)")

    def open_page(url: str) -> tuple[str, list[str]]:
        result = subprocess.run(
            [
                chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
                "--dump-dom", url,
            ],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
        return result.stdout, console

    return open_page


def test_the_pages_work_in_a_browser_without_javascript(browser, tmp_path: Path) -> None:  # noqa: ANN001
    with running(settings(tmp_path, referral_form_url="about:blank")) as url:
        link = unsubscribe_link(f"{url}/unsubscribe", SECRET, 7, "email", "check_in:p:1:1")
        dom, console = browser(link)
        assert console == [] and "<script" not in dom
        form = Form()
        form.feed(dom)
        assert (form.method, form.fields, form.buttons) == ("post", {"choice": "email"}, 1)
        assert requests.get(f"{url}/feed", headers=FEED, timeout=10).json()["events"] == []

        # what the browser sends when the candidate presses Confirm
        done = requests.post(urljoin(link, form.action), data=form.fields, timeout=10)
        assert done.status_code == 200 and 'id="done"' in done.text

        dom, console = browser(f"{url}/unsubscribe?token=forged")
        assert console == [] and 'id="refused"' in dom

        referral = referral_link(f"{url}/refer", SECRET, 7, "referral_ask:p:1:1")
        dom, console = browser(referral)
        assert console == []
        kinds = [
            e["kind"]
            for e in requests.get(f"{url}/feed", headers=FEED, timeout=10).json()["events"]
        ]
        assert kinds == ["opt_out", "referral_click"]
