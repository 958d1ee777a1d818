"""The sandbox plays the candidates over real HTTP: deliveries, replies and opt-outs (Twilio),
email events (SendGrid), Sendspark's renders and viewers (webhooks), reviews, and the ATS's
notes, tasks done and referrals.
Shares are pinned to 0 or 1 to make each behaviour certain; the clock is set forward to reveal."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from sandbox import SandboxServer, SandboxSettings
from sandbox.ats import AtsSandboxSettings
from sandbox.engagement import EngagementSettings
from tests.sandbox.test_sandbox_ats import Bullhorn, truth
from tests.sandbox.test_sandbox_ats import admin as ats_admin
from tests.sandbox.test_sandbox_providers import (
    JSON_200,
    TW,
    conforms,
    message_conforms,
    twilio_error,
    twilio_url,
)

START = "2026-11-23T09:00:00Z"
NUMBER = "+447701900{:03d}"
#: Every behaviour off: each test switches on what it checks.
QUIET = {name: 0.0 for name in EngagementSettings.model_fields if name.endswith("_share")}


@contextmanager
def sandbox(seed: int = 42, placements: int = 50, **shares: float) -> Iterator[SandboxServer]:
    settings = SandboxSettings(
        seed=seed,
        ats=AtsSandboxSettings(placements=placements),
        engagement=EngagementSettings(**{**QUIET, **shares}),
    )
    with SandboxServer(settings) as server:
        set_clock(server, START)
        yield server


def set_clock(server: SandboxServer, at: str) -> None:
    response = requests.post(f"{server.url}/sandbox/clock/set", params={"at": at}, timeout=30)
    assert response.status_code == 200, response.text


def admin(server: SandboxServer, path: str) -> Any:
    response = requests.get(f"{server.url}/sandbox/{path}", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def send_sms(server: SandboxServer, to: str, body: str = "How is the new job going?") -> Any:
    response = requests.post(
        twilio_url(server),
        data={"To": to, "From": TW.from_numbers[0], "Body": body},
        auth=(TW.account_sid, TW.auth_token),
        timeout=5,
    )
    return response


def twilio_get(server: SandboxServer, path: str = "Messages.json", **params: Any) -> Any:
    response = requests.get(
        twilio_url(server, path), params=params, auth=(TW.account_sid, TW.auth_token), timeout=5
    )
    assert response.status_code == 200, response.text
    return response.json()


def when(rfc: str) -> datetime:
    return parsedate_to_datetime(rfc)


# ------------------------------------------------------------------------------------------------
# Twilio


def test_sms_is_delivered_minutes_after_it_was_sent() -> None:
    with sandbox() as server:
        sid = send_sms(server, NUMBER.format(1)).json()["sid"]
        assert twilio_get(server, f"Messages/{sid}.json")["status"] == "sent"
        set_clock(server, "2026-11-23T09:00:59Z")  # under a minute: nothing yet
        assert twilio_get(server, f"Messages/{sid}.json")["status"] == "sent"
        set_clock(server, "2026-11-23T09:05:00Z")  # five minutes: always done
        message = twilio_get(server, f"Messages/{sid}.json")
        message_conforms(message)
        assert (message["status"], message["error_code"]) == ("delivered", None)
        updated = when(message["date_updated"])
        assert 60 <= (updated - when(message["date_sent"])).total_seconds() <= 300
        listed = twilio_get(server, To=NUMBER.format(1))["messages"]
        assert [(m["sid"], m["status"]) for m in listed] == [(sid, "delivered")]


def test_sms_undelivered_carries_a_delivery_error_code() -> None:
    with sandbox(sms_undelivered_share=1.0, sms_reply_share=1.0) as server:
        sids = [send_sms(server, NUMBER.format(n)).json()["sid"] for n in range(10, 20)]
        set_clock(server, "2026-11-30T09:00:00Z")
        for sid in sids:
            message = twilio_get(server, f"Messages/{sid}.json")
            message_conforms(message)
            assert message["status"] == "undelivered"
            assert message["error_code"] in (30003, 30005, 30006, 30007)
            assert message["error_message"]
        assert admin(server, "twilio/replies")["data"] == []  # undelivered: nobody replies


def test_sms_replies_appear_inbound_hours_later_and_filter_and_page() -> None:
    with sandbox(sms_reply_share=1.0) as server:
        ours = TW.from_numbers[0]
        sent = {NUMBER.format(n): send_sms(server, NUMBER.format(n)).json() for n in range(30, 36)}
        set_clock(server, "2026-11-23T10:00:00Z")  # replies come an hour or more after delivery
        assert twilio_get(server, To=ours)["messages"] == []
        set_clock(server, "2026-11-25T12:00:00Z")  # ... and within two days
        replies = twilio_get(server, To=ours)["messages"]
        assert {reply["from"] for reply in replies} == set(sent)
        for reply in replies:
            message_conforms(reply)
            assert (reply["direction"], reply["status"], reply["to"]) == (
                "inbound",
                "received",
                ours,
            )
            assert reply["sid"].startswith("SM") and len(reply["sid"]) == 34
            assert reply["sid"] not in {message["sid"] for message in sent.values()}
            assert reply["date_sent"] == reply["date_created"]
            gap = when(reply["date_sent"]) - when(sent[reply["from"]]["date_created"])
            assert 3600 <= gap.total_seconds() <= 49 * 3600
            assert reply["body"] in (
                "All good thanks, loving it",
                "Going really well, thank you!",
                "Great so far, thanks for checking in",
                "Really happy here, cheers",
            )
            assert twilio_get(server, f"Messages/{reply['sid']}.json") == reply
        dates = [when(reply["date_sent"]) for reply in replies]
        assert dates == sorted(dates, reverse=True)  # newest first
        # one candidate's thread: our message and their reply
        thread = twilio_get(server, To=NUMBER.format(30))["messages"]
        assert [m["direction"] for m in thread] == ["outbound-api"]
        assert len(twilio_get(server, From=NUMBER.format(30))["messages"]) == 1
        # DateSent by the reply's UTC date
        days = {when(reply["date_sent"]).date().isoformat() for reply in replies}
        by_day = sum(len(twilio_get(server, To=ours, DateSent=day)["messages"]) for day in days)
        assert by_day == len(replies)
        after = twilio_get(server, To=ours, **{"DateSent>": "2026-11-26"})["messages"]
        assert after == []
        # paging over the replies
        pages, page = [], twilio_get(server, To=ours, PageSize=4)
        while True:
            pages += page["messages"]
            if not page["next_page_uri"]:
                break
            page = requests.get(
                f"{server.url}/twilio{page['next_page_uri']}",
                auth=(TW.account_sid, TW.auth_token),
                timeout=5,
            ).json()
        assert [m["sid"] for m in pages] == [m["sid"] for m in replies]
        listed = admin(server, "twilio/replies")["data"]
        assert {reply["in_reply_to"] for reply in listed} == {m["sid"] for m in sent.values()}


def test_sms_negative_and_availability_replies() -> None:
    with sandbox(sms_reply_share=1.0, sms_negative_share=1.0, sms_yes_share=1.0) as server:
        send_sms(server, NUMBER.format(40))
        send_sms(server, NUMBER.format(41), "Are you available for more work next month?")
        set_clock(server, "2026-11-26T00:00:00Z")
        bodies = {
            m["from"]: m["body"] for m in twilio_get(server, To=TW.from_numbers[0])["messages"]
        }
        assert bodies[NUMBER.format(41)] == "YES"
        assert "struggling" in bodies[NUMBER.format(40)] or "hard" in bodies[NUMBER.format(40)]
    with sandbox(sms_reply_share=1.0, sms_yes_share=0.0) as server:
        send_sms(server, NUMBER.format(42), "Still available for shifts? Reply YES or NO")
        set_clock(server, "2026-11-26T00:00:00Z")
        assert [m["body"] for m in twilio_get(server, To=TW.from_numbers[0])["messages"]] == ["NO"]


def test_sms_stop_opts_the_number_out_until_start() -> None:
    shares = {"sms_reply_share": 1.0, "sms_stop_share": 1.0, "sms_start_share": 1.0}
    with sandbox(**shares) as server:
        number = NUMBER.format(50)
        send_sms(server, number)
        assert send_sms(server, number).status_code == 201  # before the STOP: still fine
        set_clock(server, "2026-11-25T12:00:00Z")
        stops = [m for m in twilio_get(server, To=TW.from_numbers[0])["messages"]]
        assert {m["body"] for m in stops} == {"STOP"} and {m["from"] for m in stops} == {number}
        twilio_error(send_sms(server, number), 400, 21610)
        assert send_sms(server, NUMBER.format(51)).status_code == 201  # others unaffected
        set_clock(server, "2027-01-01T00:00:00Z")  # START comes 1-30 days after the STOP
        bodies = [m["body"] for m in twilio_get(server, From=number)["messages"]]
        assert "START" in bodies
        assert send_sms(server, number).status_code == 201
    with sandbox(sms_reply_share=1.0, sms_stop_share=1.0) as server:  # no START: stays out
        send_sms(server, NUMBER.format(52))
        set_clock(server, "2027-01-01T00:00:00Z")
        twilio_error(send_sms(server, NUMBER.format(52)), 400, 21610)


def _twilio_story(seed: int) -> list[tuple[str, str, str]]:
    with SandboxServer(SandboxSettings(seed=seed, ats=AtsSandboxSettings(placements=20))) as server:
        set_clock(server, START)
        for n in range(60):
            send_sms(server, NUMBER.format(100 + n))
        set_clock(server, "2026-12-31T00:00:00Z")
        rows = twilio_get(server, PageSize=1000)["messages"]
        return [(m["sid"], m["status"], m["body"]) for m in rows]


def test_sms_outcomes_replay_for_a_seed() -> None:
    first = _twilio_story(7)
    assert first == _twilio_story(7)
    assert first != _twilio_story(8)
    statuses = {status for _, status, _ in first}
    assert {"delivered", "received"} <= statuses  # default shares: deliveries and replies


def test_engagement_shares_are_validated() -> None:
    for bad in (-0.1, 1.5):
        try:
            EngagementSettings(review_share=bad)
        except ValueError as exc:
            assert "review_share" in str(exc)
        else:
            raise AssertionError(f"review_share={bad} was accepted")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


# ------------------------------------------------------------------------------------------------
# SendGrid

SG_AUTH = {"Authorization": "Bearer SG.sandbox-sendgrid-api-key"}
LINK = "https://care.agency.example/r/abc123"


def send_email(server: SandboxServer, *touchpoints: str) -> str:
    mail = {
        "personalizations": [
            {
                "to": [{"email": f"person{n}@example.com"}],
                "custom_args": {"touchpoint_id": touchpoint},
            }
            for n, touchpoint in enumerate(touchpoints)
        ],
        "from": {"email": "care@agency.example"},
        "subject": "How is it going?",
        "content": [
            {"type": "text/plain", "value": f"Tell us: {LINK}"},
            {"type": "text/html", "value": f'<a href="{LINK}">Tell us</a>'},
        ],
        "categories": ["aftercare", "check_in"],
    }
    response = requests.post(
        f"{server.url}/sendgrid/v3/mail/send", json=mail, headers=SG_AUTH, timeout=5
    )
    assert response.status_code == 202, response.text
    return response.headers["X-Message-Id"]


def activity(server: SandboxServer, query: str, limit: int = 1000) -> requests.Response:
    return requests.get(
        f"{server.url}/sendgrid/v3/messages",
        params={"query": query, "limit": limit},
        headers=SG_AUTH,
        timeout=5,
    )


def detail(server: SandboxServer, msg_id: str) -> dict[str, Any]:
    response = requests.get(
        f"{server.url}/sendgrid/v3/messages/{msg_id}", headers=SG_AUTH, timeout=5
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # Where the sandbox departs from the spec, on purpose: the spec types unique_args as a
    # string (a JSON hash) and requires bounce_type on every event; the sandbox serves the
    # custom args as an object and bounce_type on bounces only (as the event's meaning says).
    events = [{"bounce_type": "hard", **event} for event in body["events"]]
    conforms(
        {**body, "unique_args": json.dumps(body["unique_args"]), "events": events},
        "sendgrid_email_activity_v3.json",
        "paths",
        "/v3/messages/{msg_id}",
        "get",
        *JSON_200,
    )
    assert isinstance(body["unique_args"], dict)
    for event in body["events"]:
        assert ("bounce_type" in event) == (event["event_name"] == "bounced")
        assert ("url" in event) == (event["event_name"] == "clicked")
    return body


def test_email_is_delivered_then_opened_and_clicked() -> None:
    with sandbox(email_open_share=1.0, email_click_share=1.0) as server:
        x_id = send_email(server, "check_in:placement:1:1")
        row = activity(server, f"msg_id LIKE '{x_id}%'").json()["messages"][0]
        assert (row["status"], row["opens_count"], row["last_event_time"]) == (
            "processed",
            0,
            "2026-11-23T09:00:00.000Z",
        )
        msg_id = row["msg_id"]
        assert [e["event_name"] for e in detail(server, msg_id)["events"]] == ["processed"]
        set_clock(server, "2026-11-23T09:05:00Z")
        row = activity(server, f'msg_id="{msg_id}"').json()["messages"][0]
        assert (row["status"], row["opens_count"], row["clicks_count"]) == ("delivered", 0, 0)
        set_clock(server, "2026-11-30T00:00:00Z")
        body = detail(server, msg_id)
        names = [event["event_name"] for event in body["events"]]
        assert names[:3] == ["processed", "delivered", "opened"] and "clicked" in names
        times = [event["processed"] for event in body["events"]]
        assert times == sorted(times)
        clicked = next(event for event in body["events"] if event["event_name"] == "clicked")
        assert clicked["url"] == LINK
        assert (body["status"], body["opens_count"], body["clicks_count"]) == (
            "delivered",
            names.count("opened"),
            1,
        )
        assert body["last_event_time"] == times[-1]
        assert body["unique_args"] == {"touchpoint_id": "check_in:placement:1:1"}
        assert body["categories"] == ["aftercare", "check_in"]
        row = activity(server, f'msg_id="{msg_id}"').json()["messages"][0]
        assert (row["opens_count"], row["clicks_count"]) == (names.count("opened"), 1)
        missing = requests.get(
            f"{server.url}/sendgrid/v3/messages/nope", headers=SG_AUTH, timeout=5
        )
        assert missing.status_code == 404


def test_email_bounces_are_not_delivered_and_mostly_hard() -> None:
    with sandbox(email_bounce_share=1.0, email_hard_bounce_share=1.0, email_open_share=1.0) as s:
        x_id = send_email(s, "tp-1", "tp-2")
        set_clock(s, "2026-11-30T00:00:00Z")
        rows = activity(s, f"msg_id LIKE '{x_id}%'").json()["messages"]
        assert {(row["status"], row["opens_count"]) for row in rows} == {("not_delivered", 0)}
        events = detail(s, rows[0]["msg_id"])["events"]
        assert [(e["event_name"], e.get("bounce_type")) for e in events] == [
            ("processed", None),
            ("bounced", "hard"),
        ]
    with sandbox(email_bounce_share=1.0) as s:  # soft bounces when hard is pinned to 0
        x_id = send_email(s, "tp-1")
        set_clock(s, "2026-11-23T10:00:00Z")
        row = activity(s, f"msg_id LIKE '{x_id}%'").json()["messages"][0]
        assert detail(s, row["msg_id"])["events"][-1]["bounce_type"] == "soft"


def test_email_unsubscribe_and_spam_report() -> None:
    with sandbox(email_unsubscribe_share=1.0, email_spam_report_share=1.0) as server:
        x_id = send_email(server, "tp-1")
        set_clock(server, "2026-11-30T00:00:00Z")
        msg_id = activity(server, f"msg_id LIKE '{x_id}%'").json()["messages"][0]["msg_id"]
        names = {event["event_name"] for event in detail(server, msg_id)["events"]}
        assert names == {"processed", "delivered", "unsubscribe", "spam_report"}


def test_email_activity_by_last_event_time() -> None:
    with sandbox(email_open_share=1.0) as server:
        x_id = send_email(server, "tp-1", "tp-2", "tp-3")
        set_clock(server, "2026-11-30T00:00:00Z")
        rows = activity(server, f"msg_id LIKE '{x_id}%'").json()["messages"]
        last = sorted(row["last_event_time"] for row in rows)
        window = 'last_event_time BETWEEN TIMESTAMP "{}" AND TIMESTAMP "{}"'
        inside = activity(server, window.format(last[0], last[-1])).json()["messages"]
        assert len(inside) == 3  # inclusive at both ends
        early = activity(server, window.format("2026-11-23T00:00:00Z", last[0]))
        assert [row["last_event_time"] for row in early.json()["messages"]] == [last[0]]
        combined = activity(
            server,
            window.format("2026-11-01T00:00:00Z", "2026-12-01T00:00:00+00:00")
            + " AND unique_args['touchpoint_id']=\"tp-2\"",
        ).json()["messages"]
        assert [row["to_email"] for row in combined] == ["person1@example.com"]
        none = activity(server, window.format("2026-11-23T00:00:00Z", "2026-11-23T08:00:00Z"))
        assert none.json()["messages"] == []
        bad = activity(server, 'last_event_time BETWEEN TIMESTAMP "yesterday" AND TIMESTAMP "x"')
        assert bad.status_code == 400


def _email_story(seed: int) -> list[Any]:
    with SandboxServer(SandboxSettings(seed=seed, ats=AtsSandboxSettings(placements=20))) as s:
        set_clock(s, START)
        x_id = send_email(s, *(f"tp-{n}" for n in range(40)))
        set_clock(s, "2026-12-31T00:00:00Z")
        rows = activity(s, f"msg_id LIKE '{x_id}%'").json()["messages"]
        return [(row["status"], row["opens_count"], row["last_event_time"]) for row in rows]


def test_email_outcomes_replay_for_a_seed() -> None:
    first = _email_story(3)
    assert first == _email_story(3)
    assert {status for status, _, _ in first} >= {"delivered"}
    assert any(opens for _, opens, _ in first)


# ------------------------------------------------------------------------------------------------
# Sendspark: renders and viewers, as webhooks on the clock

SENDSPARK = {
    "x-api-key": "sandbox-sendspark-api-key",
    "x-api-secret": "sandbox-sendspark-api-secret",  # the published sandbox secret
}


@contextmanager
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An HTTP endpoint on a free port collecting the JSON bodies POSTed to it."""
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers["Content-Length"])
            bodies.append({"path": self.path, **json.loads(self.rfile.read(length))})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_address[1]}", bodies
    finally:
        http.shutdown()


def add_prospects(server: SandboxServer, hook: str, count: int) -> list[dict[str, Any]]:
    prospects = [
        {
            "contactName": f"Jane {n}",
            "contactEmail": f"jane{n}@example.com",
            "webhookUrl": f"{hook}/webhooks/sendspark/token-{n}",
            "webhookEvents": ["video_generated_dv", "video_viewed", "video_watched"],
        }
        for n in range(count)
    ]
    response = requests.post(
        f"{server.url}/sendspark/v1/workspaces/ws_sandbox/dynamics/check_in/prospects/bulk",
        json={"prospectList": prospects},
        headers=SENDSPARK,
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()["prospectList"]


def deliver(server: SandboxServer) -> dict[str, Any]:
    response = requests.post(f"{server.url}/sandbox/sendspark/webhooks/deliver", timeout=30)
    return response.json()


def test_sendspark_webhooks_come_on_the_clock_to_each_prospects_url() -> None:
    with sandbox(video_view_share=1.0) as server, receiver() as (hook, bodies):
        set_clock(server, START)
        made = {p["id"]: n for n, p in enumerate(add_prospects(server, hook, 4))}
        assert deliver(server)["delivered"] == 0  # rendering: nothing yet
        set_clock(server, "2026-11-23T09:10:00Z")  # render_seconds (600) later
        assert deliver(server) == {"delivered": 4, "statuses": {"200": 4}}
        for body in bodies:
            assert body["event"] == "video_generated_dv"
            assert body["path"] == f"/webhooks/sendspark/token-{made[body['prospectId']]}"
            share = f"https://sendspark.sandbox.example/share/{body['prospectId']}"
            assert (body["shareUrl"], body["embedUrl"]) == (share, f"{share}/embed")
            assert body["thumbnailUrl"].startswith(share)
        set_clock(server, "2026-12-01T00:00:00Z")  # every viewer has come (1 h-4 days)
        deliver(server)
        viewed = [b for b in bodies if b["event"] != "video_generated_dv"]
        assert {b["prospectId"] for b in viewed if b["event"] == "video_viewed"} == set(made)
        watched = [b for b in viewed if b["event"] == "video_watched"]
        assert len(watched) == 4 and {b["percentage"] for b in watched} <= {25, 50, 75, 100}
        # only the events each prospect asked for (no video_cta_clicked), in time order
        assert {b["event"] for b in viewed} == {"video_viewed", "video_watched"}
        assert [b["createdAt"] for b in viewed] == sorted(b["createdAt"] for b in viewed)
        assert deliver(server)["delivered"] == 0  # each sent once
    with sandbox() as server, receiver() as (hook, bodies):  # viewers pinned off
        add_prospects(server, hook, 2)
        set_clock(server, "2026-12-31T00:00:00Z")
        deliver(server)
        assert {b["event"] for b in bodies} == {"video_generated_dv"}


# ------------------------------------------------------------------------------------------------
# Trustpilot reviews

BU = "5a4d1b0c0ffee00000000042"


def trustpilot_token(server: SandboxServer) -> dict[str, str]:
    response = requests.post(
        f"{server.url}/trustpilot/v1/oauth/oauth-business-users-for-applications/accesstoken",
        data={"grant_type": "client_credentials"},
        auth=("sandbox-trustpilot-api-key", "sandbox-trustpilot-api-secret"),
        timeout=5,
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def invite(server: SandboxServer, auth: dict[str, str], reference: str) -> None:
    body = {"referenceId": reference, "email": "jane@example.com", "name": "Jane Doe"}
    response = requests.post(
        f"{server.url}/trustpilot/v1/private/business-units/{BU}/invitation-links",
        json=body,
        headers=auth,
        timeout=5,
    )
    assert response.status_code == 200, response.text


def review_page(server: SandboxServer, auth: dict[str, str], **params: Any) -> Any:
    return requests.get(
        f"{server.url}/trustpilot/v1/private/business-units/{BU}/reviews",
        params=params,
        headers=auth,
        timeout=5,
    )


def test_reviews_come_days_after_the_invitation_and_page() -> None:
    with sandbox(review_share=1.0) as server:
        auth = trustpilot_token(server)
        for n in range(7):
            invite(server, auth, f"review_request:placement:{n}:1")
        set_clock(server, "2026-11-24T08:59:00Z")  # under a day: none yet
        assert review_page(server, auth).json() == {"reviews": [], "links": []}
        set_clock(server, "2026-12-04T09:00:00Z")  # ten days: all
        found, response = [], review_page(server, auth, perPage=3)
        while True:
            assert response.status_code == 200, response.text
            found += response.json()["reviews"]
            nxt = [link for link in response.json()["links"] if link["rel"] == "next-page"]
            if not nxt:
                break
            assert nxt[0]["method"] == "GET"
            response = requests.get(nxt[0]["href"], headers=auth, timeout=5)
        assert sorted(r["referenceId"] for r in found) == [
            f"review_request:placement:{n}:1" for n in range(7)
        ]
        assert [r["createdAt"] for r in found] == sorted(r["createdAt"] for r in found)
        for review in found:
            assert set(review) == {
                "id",
                "stars",
                "title",
                "text",
                "createdAt",
                "referenceId",
                "consumer",
            }
            assert review["stars"] in range(1, 6) and review["title"] and review["text"]
            assert review["consumer"] == {"displayName": "Jane D."}
            assert "2026-11-24T09" <= review["createdAt"] <= "2026-12-03T09:00:00.000Z"
        since = review_page(server, auth, perPage=100, startDateTime=found[3]["createdAt"])
        assert since.json()["reviews"] == found[3:]
        assert review_page(server, auth, perPage=101).status_code == 400
        assert review_page(server, {"Authorization": "Bearer nope"}).status_code == 401
    with sandbox() as server:  # reviews pinned off
        auth = trustpilot_token(server)
        invite(server, auth, "review_request:placement:1:1")
        set_clock(server, "2026-12-31T00:00:00Z")
        assert review_page(server, auth).json()["reviews"] == []


def test_review_stars_are_mostly_four_and_five() -> None:
    with sandbox(review_share=1.0) as server:
        auth = trustpilot_token(server)
        for n in range(200):
            invite(server, auth, f"r{n}")
        set_clock(server, "2026-12-31T00:00:00Z")
        stars = [r["stars"] for r in review_page(server, auth, perPage=100).json()["reviews"]]
        stars += [
            r["stars"] for r in review_page(server, auth, perPage=100, page=2).json()["reviews"]
        ]
        assert len(stars) == 200
        assert sum(star >= 4 for star in stars) > 140 and min(stars) >= 1


# ------------------------------------------------------------------------------------------------
# ATS: notes, call tasks done, referrals


def _put(bh: Bullhorn, entity: str, body: dict[str, Any]) -> requests.Response:
    headers = {"BhRestToken": bh.token}
    return requests.put(f"{bh.rest_url}entity/{entity}", json=body, headers=headers, timeout=5)


def _ms(at: str) -> int:
    return round(datetime.fromisoformat(at).timestamp() * 1000)


def test_ats_notes_are_created_queried_and_in_the_truth() -> None:
    with sandbox() as server:
        bh = Bullhorn(server)
        placement = bh.ok("query/Placement", where="id > 0", fields="candidate,owner", count=1)
        candidate, owner = placement["data"][0]["candidate"], placement["data"][0]["owner"]
        body = {
            "comments": "Check-in reply: Not great to be honest, struggling",
            "action": "Aftercare",
            "personReference": {"id": candidate["id"]},
            "commentingPerson": {"id": owner["id"]},
        }
        created = _put(bh, "Note", body)
        assert created.status_code == 200, created.text
        envelope = created.json()
        note_id = envelope["changedEntityId"]
        assert envelope == {
            "changedEntityType": "Note",
            "changedEntityId": note_id,
            "changeType": "INSERT",
            "data": {"id": note_id},
        }
        fields = "id,comments,action,personReference,commentingPerson,dateAdded"
        rows = bh.ok("query/Note", where=f"personReference.id = {candidate['id']}", fields=fields)
        assert rows["data"] == [
            {
                "id": note_id,
                **body,
                "dateAdded": rows["data"][0]["dateAdded"],
            }
        ]
        found = bh.ok("search/Note", query=f"personReference.id:{candidate['id']}")
        assert found["data"] == [note_id]
        notes = ats_admin(server, "GET", "truth/Note").json()["data"]
        assert [note["id"] for note in notes] == [note_id]
        missing = _put(bh, "Note", {"action": "Aftercare", "personReference": {"id": 1}})
        assert missing.status_code == 400
        kinds = {(m["propertyName"], m["type"]) for m in missing.json()["messages"]}
        assert kinds == {
            ("comments", "MISSING_REQUIRED_PROPERTY"),
            ("personReference", "INVALID_ASSOCIATION"),
        }


def test_ats_call_tasks_get_completed_days_after_they_begin() -> None:
    with sandbox(task_completion_share=1.0) as server:
        bh = Bullhorn(server)
        begin = _ms("2026-11-24T09:00:00Z")
        body = {"subject": "Check-in call", "type": "Follow-Up", "dateBegin": begin}
        task_ids = [bh.put_task(body).json()["changedEntityId"] for _ in range(5)]
        before = bh.ok("query/Task", where="isCompleted = true", fields="id")["data"]
        assert before == []
        since = max(task["dateLastModified"] for task in truth(server, "Task"))
        set_clock(server, "2026-11-28T00:00:00Z")  # within 0-3 days after dateBegin: all done
        done = bh.ok(
            "query/Task",
            where=f"isCompleted = true AND dateLastModified > {since}",
            fields="id,isCompleted,dateCompleted,dateBegin,dateLastModified",
            orderBy="dateLastModified",
        )["data"]
        assert sorted(task["id"] for task in done) == task_ids
        for task in done:
            assert begin <= task["dateCompleted"] <= begin + 3 * 86_400_000
            assert task["dateLastModified"] >= task["dateCompleted"]
    with sandbox() as server:  # completion pinned off
        bh = Bullhorn(server)
        bh.put_task({"subject": "Check-in call", "type": "Follow-Up"})
        set_clock(server, "2026-12-10T00:00:00Z")
        assert bh.ok("query/Task", where="isCompleted = true", fields="id")["data"] == []


def test_ats_referral_asks_turn_into_referred_candidates_and_placements() -> None:
    shares = {"referral_share": 1.0, "referral_placed_share": 1.0}
    with sandbox(placements=200, **shares) as server:
        bh = Bullhorn(server)
        placements = bh.ok(
            "query/Placement", where="id > 0", fields="id,candidate", count=4, orderBy="id"
        )["data"]
        ask = f"referral_ask:placement:{placements[0]['id']}:1"
        send_email(server, ask, ask)  # the same ask twice: one referral
        send_email(server, f"referral_ask:placement:{placements[1]['id']}:1", "check_in:x:1")
        asked_at = _ms(START)
        since = datetime.fromtimestamp(asked_at // 1000, UTC).strftime("%Y%m%d%H%M%S")
        referred_query = {  # Candidate is search-only, as in Bullhorn
            "query": f"referredByPerson.id:[* TO *] AND dateAdded:[{since} TO *]",
            "fields": "id,referredByPerson,source,dateAdded",
        }
        set_clock(server, "2026-11-25T00:00:00Z")  # under two days: nobody yet from the asks
        ours = {p["candidate"]["id"] for p in placements[:2]}
        early = bh.ok("search/Candidate", **referred_query, count=500)["data"]
        assert not [c for c in early if c["referredByPerson"]["id"] in ours]
        set_clock(server, "2026-12-14T00:00:00Z")  # within 20 days: both referred
        referred = [
            candidate
            for candidate in bh.ok("search/Candidate", **referred_query, count=500)["data"]
            if candidate["referredByPerson"]["id"] in ours
        ]
        assert sorted(c["referredByPerson"]["id"] for c in referred) == sorted(ours)
        for candidate in referred:
            assert candidate["source"] == "Candidate Referral"
            assert asked_at + 2 * 86_400_000 <= candidate["dateAdded"]
        set_clock(server, "2027-01-31T00:00:00Z")  # placed 3-30 days after the referral
        for candidate in referred:
            placed = bh.ok(
                "query/Placement", where=f"candidate.id = {candidate['id']}", fields="id"
            )["data"]
            assert len(placed) == 1
    with sandbox(placements=200) as server:  # referrals pinned off
        bh = Bullhorn(server)
        placement = bh.ok("query/Placement", where="id > 0", fields="id,candidate", count=1)
        send_email(server, f"referral_ask:placement:{placement['data'][0]['id']}:1")
        set_clock(server, "2026-12-31T00:00:00Z")
        asker = placement["data"][0]["candidate"]["id"]
        referred = bh.ok(
            "search/Candidate", query=f"referredByPerson.id:{asker}", fields="id", count=500
        )["data"]
        assert referred == []
