"""The demo's simulated candidates use the links of the emails they got, through the
preferences service, over real HTTP, as a person (or their mailbox) would: a share unsubscribe,
half with their mailbox's one-click button (the RFC 8058 POST to the List-Unsubscribe URL), half
on the page (its GET, then its form's POST); a share of those asked for a referral click the
referral link (the service answers 303 to the agency's form, which is not followed).

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
    seed: int = 42,
) -> Counter[str]:
    """Act on the emails the sandbox SendGrid accepted since the last call, on the links to the
    preferences service at ``service_url`` only (never another host); counts of what was done
    (``one_click_unsubscribes``, ``page_unsubscribes``, ``referral_clicks``)."""
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
    return counts
