"""The sandbox providers' ids, and so the candidates' behaviour, follow what each call asks, not
the order calls arrive in (docs/sandbox-providers.md, "Ids"): the same sends in reverse order,
their links signed with another setup's secret, give the same ids and the same replies."""

from __future__ import annotations

from typing import Any

import requests

from sandbox import SandboxServer, SandboxSettings
from sandbox.ats import AtsSandboxSettings
from sandbox.clock import iso
from sandbox.engagement import EngagementSettings

#: every text delivered and answered (the reply's words drawn from the text's id)
SETTINGS = SandboxSettings(
    seed=7,
    ats=AtsSandboxSettings(placements=100),
    engagement=EngagementSettings(sms_reply_share=1, sms_undelivered_share=0),
)
TW, SG = SETTINGS.twilio, SETTINGS.sendgrid
TEXTS = [
    (f"+447701900{n:03d}", f"Hi {n}, how is the new job? https://p.example/v/{{token}}")
    for n in range(8)
]
#: one text sent twice (a retry after a lost answer): two messages, two ids
TEXTS.append(TEXTS[0])
MAILS = [f"check_in:placement:{n}:1" for n in range(8)]


def live(order: list[int], token: str) -> dict[str, Any]:
    """The texts and mails sent in ``order`` to a fresh sandbox, their links signed ``token``;
    the ids it gave and, four days on, the candidates' replies."""
    with SandboxServer(SETTINGS) as server:
        sids: dict[tuple[str, str], list[str]] = {}
        message_ids: dict[str, str] = {}
        for n in order:
            if n < len(TEXTS):
                to, body = TEXTS[n]
                answer = requests.post(
                    f"{server.url}/twilio/2010-04-01/Accounts/{TW.account_sid}/Messages.json",
                    data={"To": to, "From": TW.from_numbers[0], "Body": body.format(token=token)},
                    auth=(TW.account_sid, TW.auth_token),
                    timeout=5,
                )
                assert answer.status_code == 201, answer.text
                sids.setdefault((to, body), []).append(answer.json()["sid"])
            else:
                touchpoint = MAILS[n - len(TEXTS)]
                answer = requests.post(
                    f"{server.url}/sendgrid/v3/mail/send",
                    json=mail(touchpoint, token),
                    headers={"Authorization": f"Bearer {SG.api_key}"},
                    timeout=5,
                )
                assert answer.status_code == 202, answer.text
                message_ids[touchpoint] = answer.headers["X-Message-Id"]
        now = requests.get(f"{server.url}/sandbox/clock", timeout=5).json()["now"]
        later = iso(now + 4 * 86_400_000)
        set_clock = requests.post(
            f"{server.url}/sandbox/clock/set", params={"at": later}, timeout=30
        )
        set_clock.raise_for_status()
        replies = requests.get(f"{server.url}/sandbox/twilio/replies", timeout=5).json()["data"]
    return {
        "sids": {key: sorted(found) for key, found in sids.items()},
        "message_ids": message_ids,
        "replies": sorted((r["in_reply_to"], r["sid"], r["body"]) for r in replies),
    }


def mail(touchpoint: str, token: str) -> dict[str, Any]:
    link = f"https://p.example/unsubscribe?token={token}"
    return {
        "personalizations": [
            {
                "to": [{"email": f"{touchpoint.split(':')[2]}@example.com"}],
                "custom_args": {"touchpoint_id": touchpoint},
            }
        ],
        "from": {"email": "care@agency.example"},
        "subject": "How is it going?",
        "headers": {"List-Unsubscribe": f"<{link}>"},
        "content": [{"type": "text/plain", "value": f"Hi! {link}"}],
    }


def test_the_same_sends_in_another_order_get_the_same_ids_and_replies() -> None:
    calls = list(range(len(TEXTS) + len(MAILS)))
    first = live(calls, "signed-by-one-setup")
    second = live(calls[::-1], "signed-by-another")

    assert first == second
    # a text sent twice is two messages, with two ids
    assert len(set(first["sids"][TEXTS[0]])) == 2
    every_sid = [sid for found in first["sids"].values() for sid in found]
    assert len(set(every_sid)) == len(TEXTS)
    assert all(sid.startswith("SM") and len(sid) == 34 for sid in every_sid)
    assert len(first["replies"]) == len(TEXTS)
    assert len(set(first["message_ids"].values())) == len(MAILS)
