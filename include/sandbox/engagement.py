"""How the sandbox plays the candidates after our sends (docs/sandbox-providers.md,
"Engagement"): the shares of each outcome, and the seeded draws and times they derive from.

Every outcome of a message (delivered or not, a reply, opens, clicks, views, a review, a task
done, a referral) is a pure function of the seed, the message's id and its send time: the
services decide it when they accept the message and show it once the sandbox clock has passed
the outcome's time. The same seed and the same calls give the same outcomes, in every process.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

from sandbox.faults import unit_draw

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def _share(default: float, description: str) -> float:
    return Field(default, ge=0, le=1, description=description)


class EngagementSettings(BaseModel):
    """Shares (0..1) of each candidate behaviour; tests pin them to 0 or 1."""

    model_config = ConfigDict(extra="forbid")

    sms_undelivered_share: float = _share(0.03, "SMS that end undelivered (error 3000x)")
    sms_reply_share: float = _share(0.3, "delivered SMS that get a reply")
    sms_stop_share: float = _share(0.05, "replies that are STOP")
    sms_start_share: float = _share(0.1, "STOPs followed, days later, by START")
    sms_negative_share: float = _share(0.15, "other replies (not to a question) that are negative")
    sms_yes_share: float = _share(0.6, "other replies to an availability question that are YES")
    email_bounce_share: float = _share(0.03, "emails that bounce")
    email_hard_bounce_share: float = _share(0.8, "bounces that are hard")
    email_open_share: float = _share(0.45, "delivered emails opened")
    email_click_share: float = _share(0.3, "opened emails clicked")
    email_unsubscribe_share: float = _share(0.01, "delivered emails that lead to an unsubscribe")
    email_spam_report_share: float = _share(0.002, "delivered emails reported as spam")
    video_view_share: float = _share(0.5, "Sendspark videos viewed")
    review_share: float = _share(0.3, "review invitation links that turn into a review")
    task_completion_share: float = _share(0.8, "ATS tasks completed 0-3 days after dateBegin")
    referral_share: float = _share(0.1, "referral asks answered by a referred candidate")
    referral_placed_share: float = _share(0.3, "referred candidates placed later")


def draw(seed: int, *parts: object) -> float:
    """A number in [0, 1) from the seed and ``parts`` alone."""
    return unit_draw(seed, "engagement", *parts)


def later(seed: int, start_ms: int, low_ms: int, high_ms: int, *parts: object) -> int:
    """An instant ``low_ms`` to ``high_ms`` after ``start_ms``, drawn from the seed and parts."""
    return start_ms + low_ms + int(draw(seed, "at", *parts) * (high_ms - low_ms))


def pick(seed: int, options: tuple[str, ...], *parts: object) -> str:
    """One of ``options``, drawn from the seed and parts."""
    return options[int(draw(seed, "pick", *parts) * len(options))]


def hex_id(seed: int, size: int, *parts: object) -> str:
    """``size`` bytes of hex from the seed and parts (ids of things the sandbox invents)."""
    text = ":".join(map(str, (seed, "engagement-id", *parts))).encode()
    return hashlib.blake2b(text, digest_size=size).hexdigest()
