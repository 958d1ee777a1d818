"""The preferences service's events in the warehouse (issue 21), on DuckDB and Postgres: the
engagement load turns opt-outs into responses and suppressions once, dispatch's prepare step
loads them first so the very next run honours an opt-out made just before it, and a referral
click decides which touchpoint a referral is attributed to, up to the marts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from aftercare import connections, marts, plan, warehouse
from aftercare.config import load_config
from aftercare.engagement import loads
from aftercare.messages import referral_link, unsubscribe_link
from aftercare.providers.factory import Providers
from aftercare.tasks import dispatch
from tests.test_dispatch import D, candidate, set_clock
from tests.test_plan import ledger, placement

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def service(preferences_service: SimpleNamespace) -> SimpleNamespace:
    return preferences_service


@pytest.fixture
def engine(warehouse_engine: sa.Engine, service: Any) -> sa.Engine:
    warehouse.migrate(warehouse_engine)
    return warehouse_engine


def opt_out(service: Any, candidate_id: int, channel: str, touchpoint: str, **form: str) -> None:
    link = unsubscribe_link(
        f"{service.url}/unsubscribe", service.secret, candidate_id, channel, touchpoint
    )
    response = requests.post(link, data=form or ONE_CLICK, timeout=10)
    assert response.status_code == 200


def load(engine: sa.Engine) -> dict[str, int]:
    config = load_config()
    feed = Providers(config, "email", connections.get_connection).preferences
    return dict(loads.load_preferences(engine, config, feed, datetime.now(UTC)))


def rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql))]


def sent(
    engine: sa.Engine, touchpoint_id: str, placement_id: int, candidate_id: int, at: datetime
) -> None:
    """A touchpoint sent by email at ``at``."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into aftercare.touchpoints (touchpoint_id, milestone, placement_id,"
                " candidate_id, occurrence, channel, due_date, status, sent_at,"
                " provider_message_id) values (:t, :m, :p, :c, 1, 'email', :d, 'sent', :s, :t)"
            ),
            {
                "t": touchpoint_id,
                "m": touchpoint_id.split(":")[0],
                "p": placement_id,
                "c": candidate_id,
                "d": at.date(),
                "s": at,
            },
        )


def test_opt_outs_become_suppressions_and_responses_once(engine: sa.Engine, service: Any) -> None:
    sent(engine, "review_request:placement:16:1", 16, 6, datetime.now(UTC) - timedelta(days=1))
    opt_out(service, 6, "email", "review_request:placement:16:1")
    opt_out(service, 6, "email", "review_request:placement:16:1")  # twice: once
    opt_out(service, 7, "sms", "tp-unknown", choice="marketing")
    opt_out(service, 8, "email", "tp-unknown", choice="all")

    assert load(engine) == {"opt_outs": 3, "referral_clicks": 0, "video_events": 0}
    assert load(engine) == {"opt_outs": 0, "referral_clicks": 0, "video_events": 0}  # on
    assert sorted(
        rows(engine, "select candidate_id, channel, reason, source from aftercare.suppressions")
    ) == [
        (6, "email", "preferences_one_click", "preferences"),
        (7, "marketing", "preferences_page", "preferences"),
        (8, "all", "preferences_page", "preferences"),
    ]
    responses = rows(
        engine,
        "select candidate_id, kind, touchpoint_id from engagement.responses order by candidate_id",
    )
    assert responses == [
        (6, "opt_out", "review_request:placement:16:1"),
        (7, "opt_out", None),
        (8, "opt_out", None),
    ]


@pytest.mark.slow
def test_the_next_dispatch_honours_an_opt_out_made_just_before_it(
    engine: sa.Engine, service: Any
) -> None:
    config = load_config()
    candidate(engine, 6)
    placement(engine, 16, 6, start_date=D - timedelta(days=56))  # review request by email
    candidate(engine, 2, mobile_e164=None)
    placement(engine, 12, 2, start_date=D)  # first day by email: a service message
    candidate(engine, 3)
    placement(engine, 13, 3, start_date=D - timedelta(days=56))  # review request: marketing
    plan.plan(engine, config, D)
    assert {k: v[0] for k, v in ledger(engine).items()} == {
        "review_request:placement:16:1": "planned",
        "first_day:placement:12:1": "planned",
        "review_request:placement:13:1": "planned",
    }
    set_clock(service.sandbox, "2026-11-23T12:00:00Z")
    opt_out(service, 6, "email", "review_request:placement:16:1")
    # stop marketing only: the review request waits (the next plan suppresses it), the first
    # day still goes
    opt_out(service, 3, "email", "review_request:placement:13:1", choice="marketing")
    opt_out(service, 2, "email", "first_day:placement:12:1", choice="marketing")
    engine.dispose()  # the task opens the warehouse itself (DuckDB: one writer)

    prepared = dispatch.prepare_batches(run_id="test-optout", try_number=1, dry_run=False)

    assert prepared["counts"]["opt_outs"] == 3
    assert prepared["counts"]["held_consent"] == 2
    batched = rows(engine, "select touchpoint_id from aftercare.dispatch_items")
    assert batched == [("first_day:placement:12:1",)]


class Referrals:
    """The ATS's answer to "who was referred since": one candidate referred by candidate 4."""

    def __init__(self, referred_at: datetime) -> None:
        self.referred_at = referred_at

    def completed_tasks(self, since_ms: int) -> list:
        return []

    def referred_candidates(self, added_after_ms: int) -> list:
        added = int(self.referred_at.timestamp() * 1000)
        record = {"id": 900, "dateAdded": added, "referredByPerson": {"id": 4}}
        return [SimpleNamespace(records=[record])]


def test_a_referral_click_attributes_the_referral_up_to_the_marts(
    engine: sa.Engine, service: Any
) -> None:
    now = datetime.now(UTC)
    candidate(engine, 4)
    placement(engine, 14, 4, start_date=D - timedelta(days=400))
    placement(engine, 24, 4, start_date=D - timedelta(days=100))
    asks = {  # two asks sent: the earlier one's link is clicked
        "referral_ask:placement:14:1": (14, now - timedelta(days=20)),
        "referral_ask:placement:24:1": (24, now - timedelta(days=10)),
    }
    for touchpoint_id, (placement_id, sent_at) in asks.items():
        sent(engine, touchpoint_id, placement_id, 4, sent_at)
    link = referral_link(f"{service.url}/refer", service.secret, 4, "referral_ask:placement:14:1")
    click = requests.get(link, allow_redirects=False, timeout=10)
    assert click.status_code == 303

    assert load(engine) == {"opt_outs": 0, "referral_clicks": 1, "video_events": 0}
    config = load_config()
    loads.load_ats(engine, config, Referrals(now + timedelta(minutes=1)), now)  # type: ignore[arg-type]
    marts.rebuild(engine)

    assert rows(
        engine, "select referrer_candidate_id, touchpoint_id, placement_id from marts.referrals"
    ) == [(4, "referral_ask:placement:14:1", 14)]
    [(event, reference)] = rows(
        engine,
        "select event, detail ->> 'reference' from engagement.delivery_events",
    )
    assert (event, reference) == ("referral_click", click.headers["location"].split("ref=")[1])


def test_opt_outs_from_email_are_written_back_to_the_ats_once(
    engine: sa.Engine, service: Any
) -> None:
    from aftercare.engagement import followups

    sandbox = service.sandbox
    truth = requests.get(f"{sandbox.url}/sandbox/ats/truth/Candidate?count=50", timeout=10)
    mailable = [r["id"] for r in truth.json()["data"] if not r["massMailOptOut"]]
    by_email, by_sms = mailable[:2]
    opt_out(service, by_email, "email", "tp-a")
    opt_out(service, by_sms, "sms", "tp-b")
    load(engine)
    shipped = load_config()
    on = shipped.model_copy(
        update={"preferences": shipped.preferences.model_copy(update={"ats_write_back": True})}
    )

    def write_back(config: Any) -> dict[str, int]:
        ats = Providers(config, "phone", connections.get_connection).ats
        return dict(followups.follow_up(engine, config, ats, datetime.now(UTC)))

    def opted_out(candidate_id: int) -> bool:
        url = f"{sandbox.url}/sandbox/ats/truth/Candidate?count=50"
        records = requests.get(url, timeout=10).json()["data"]
        return next(r["massMailOptOut"] for r in records if r["id"] == candidate_id)

    assert write_back(shipped) == {}  # the shipped setting: off
    assert write_back(on) == {"mass_mail_opt_outs_made": 1}
    assert write_back(on) == {}  # once
    assert (opted_out(by_email), opted_out(by_sms)) == (True, False)
    assert rows(engine, "select action, ats_id from engagement.actions") == [
        ("mass_mail_opt_out", by_email)
    ]


@pytest.mark.slow
def test_the_demo_candidates_use_their_links_through_the_service(
    duckdb_warehouse: Any, service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox's simulated candidates (sandbox.candidates, as `make demo` runs them)
    unsubscribe, click referral links and watch their video pages in the emails dispatch sent,
    over HTTP to the service; the warehouse then loads what they did."""
    from sandbox.candidates import use_links
    from tests.test_dispatch import run_dispatch

    shipped = load_config()
    messages = shipped.messages.model_copy(
        update={
            "unsubscribe_link_base": f"{service.url}/unsubscribe",
            "referral_link_base": f"{service.url}/refer",
        }
    )
    config = shipped.model_copy(update={"messages": messages})
    monkeypatch.setattr(dispatch, "load_config", lambda: config)
    engine = connections.warehouse_engine()
    warehouse.migrate(engine)
    candidate(engine, 4)  # a referral ask: video, by email
    placement(engine, 14, 4, start_date=D - timedelta(days=90))
    candidate(engine, 6)  # a review request by email
    placement(engine, 16, 6, start_date=D - timedelta(days=56))
    plan.plan(engine, config, D)
    set_clock(service.sandbox, "2026-11-23T12:00:00Z")
    run_dispatch(engine, config)

    seen: set[str] = set()
    everyone = {
        "unsubscribe_share": 1.0,
        "referral_click_share": 1.0,
        "video_open_share": 1.0,
        "video_play_share": 1.0,
        "video_cta_share": 1.0,
    }
    acted = use_links(service.sandbox.url, service.url, seen, **everyone)
    assert acted["one_click_unsubscribes"] + acted["page_unsubscribes"] == 2
    assert acted["referral_clicks"] == 1
    # the referral ask went as a video: its page opened, played, its call to action followed
    videos = {k: v for k, v in acted.items() if k.startswith("video")}
    assert videos == {
        "video_pages_opened": 1,
        "videos_played": 1,
        "video_cta_clicks": 1,
        "video_marks_passed": acted["video_marks_passed"],
    }
    assert use_links(service.sandbox.url, service.url, seen, **everyone) == {}  # each once

    # opened, played, the marks passed, the call to action clicked: each an event
    video_events = 3 + acted["video_marks_passed"]
    assert load(engine) == {"opt_outs": 2, "referral_clicks": 1, "video_events": video_events}
    assert sorted(rows(engine, "select candidate_id, channel from aftercare.suppressions")) == [
        (4, "email"),
        (6, "email"),
    ]
    engine.dispose()
