"""The demo's simulated candidates use the links of the emails they got, through the
preferences service, over real HTTP, as a person (or their mailbox) would: a share unsubscribe,
half with their mailbox's one-click button (the RFC 8058 POST to the List-Unsubscribe URL), half
on the page (its GET, then its form's POST); a share of those asked for a referral click the
referral link (the service answers 303 to the agency's form, which is not followed); a share of
those sent a video open its page, some of them play it and watch a part or all of it (the
events the page's script posts), and some follow its call to action (303, not followed).

Each email's draws are seeded by its message id, so a demo replays the same candidates' choices;
an email already acted on (``seen``) is left alone."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any

import numpy as np
import requests

from sandbox.engagement import EngagementSettings

_DEFAULTS = EngagementSettings()
#: the referral link of a message's text (the preferences service's /refer)
REFERRAL = re.compile(r"https?://\S+/refer\?ref=[\w.\-]+")
#: the link of a personalised video page (the preferences service's /v/<token>)
VIDEO_PAGE = re.compile(r"https?://\S+/v/[\w.\-]+")
#: how far a candidate who plays a video watches: the marks passed, in order
WATCHED = ("watched_25", "watched_50", "watched_75", "watched_100")
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _text(mail: dict[str, Any]) -> str:
    return next((c["value"] for c in mail.get("content") or [] if c["type"] == "text/plain"), "")


def use_links(
    sandbox_url: str,
    service_url: str,
    seen: set[str],
    *,
    unsubscribe_share: float = _DEFAULTS.email_unsubscribe_share * 3,
    referral_click_share: float = _DEFAULTS.email_open_share * _DEFAULTS.email_click_share,
    video_open_share: float = 0.6,
    video_play_share: float = 0.8,
    video_cta_share: float = 0.3,
    seed: int = 42,
) -> Counter[str]:
    """Act on the emails the sandbox SendGrid accepted since the last call, on the links to the
    preferences service at ``service_url`` only (never another host); counts of what was done
    (``one_click_unsubscribes``, ``page_unsubscribes``, ``referral_clicks``,
    ``video_pages_opened``, ``videos_played``, ``video_marks_passed`` (25, 50, 75, 100%),
    ``video_cta_clicks``). Of the video pages
    opened, ``video_play_share`` are played (each then watched to a mark drawn evenly), and
    ``video_cta_share`` have their call to action followed (when the page has one)."""
    received = requests.get(f"{sandbox_url}/sandbox/sendgrid/received", timeout=30)
    received.raise_for_status()
    counts: Counter[str] = Counter()
    with requests.Session() as http:
        for mail in received.json()["data"]:
            key = f"{mail['x_message_id']}:{mail['personalization']}"
            if key in seen:
                continue
            seen.add(key)
            digest = hashlib.sha256(key.encode()).digest()
            draw = np.random.default_rng([seed, int.from_bytes(digest[:8], "big")])
            header = (mail.get("headers") or {}).get("List-Unsubscribe", "")
            if header.startswith(f"<{service_url}/") and draw.random() < unsubscribe_share:
                link = header[1 : header.index(">")]
                if draw.random() < 0.5:
                    http.post(link, data=ONE_CLICK, timeout=30).raise_for_status()
                    counts["one_click_unsubscribes"] += 1
                else:
                    http.get(link, timeout=30).raise_for_status()  # the page: nothing changes
                    http.post(link, data={"choice": "email"}, timeout=30).raise_for_status()
                    counts["page_unsubscribes"] += 1
            for link in REFERRAL.findall(_text(mail)):
                if link.startswith(f"{service_url}/") and draw.random() < referral_click_share:
                    answer = http.get(link, allow_redirects=False, timeout=30)
                    if answer.status_code == 303:
                        counts["referral_clicks"] += 1
            for link in VIDEO_PAGE.findall(_text(mail)):
                if link.startswith(f"{service_url}/") and draw.random() < video_open_share:
                    counts.update(_watch(http, link, draw, video_play_share, video_cta_share))
    return counts


def _watch(
    http: requests.Session,
    link: str,
    draw: np.random.Generator,
    play_share: float,
    cta_share: float,
) -> Counter[str]:
    """A candidate on a video page: opened (GET), maybe played and watched to a mark (the
    events the page's script would post), maybe its call to action followed."""
    page = http.get(link, timeout=30)
    page.raise_for_status()
    counts = Counter(video_pages_opened=1)
    if draw.random() < play_share:
        watched = int(draw.integers(0, len(WATCHED) + 1))
        for event in ("played", *WATCHED[:watched]):
            http.post(f"{link}/events", json={"event": event}, timeout=30).raise_for_status()
        counts.update(videos_played=1, video_marks_passed=watched)
    if 'id="cta"' in page.text and draw.random() < cta_share:
        if http.get(f"{link}/cta", allow_redirects=False, timeout=30).status_code == 303:
            counts["video_cta_clicks"] += 1
    return counts
