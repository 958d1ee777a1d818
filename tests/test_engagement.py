"""The engagement stage against the sandbox playing the candidates: each provider feed lands
as the right rows, replaying adds nothing, what the responses say about consent becomes a
suppression, and the follow-ups and the notes of sent touchpoints are made once in the ATS
(DuckDB; the SQL is shared with Postgres and its rows are checked there by test_marts; the
notes on both)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from aftercare import connections, plan, warehouse
from aftercare.config import Config, load_config
from aftercare.connections import clock, get_connection
from aftercare.engagement import followups, loads
from aftercare.providers.factory import Providers
from aftercare.tasks import engagement as engagement_tasks
from sandbox import SandboxServer, SandboxSettings
from sandbox.candidates import use_links
from tests import point_connections_at
from tests.test_dispatch import (
    D,
    candidate,
    day_of_every_channel,
    faults,
    ledger,
    placement,
    run_dispatch,
    set_clock,
)

#: every delivered message opened, clicked, viewed, reviewed, replied to, referred from
CERTAIN = {
    "sms_undelivered_share": 0.0,
    "sms_reply_share": 1.0,
    "sms_stop_share": 0.0,
    "sms_negative_share": 1.0,
    "email_bounce_share": 0.0,
    "email_open_share": 1.0,
    "email_click_share": 1.0,
    "email_unsubscribe_share": 0.0,
    "email_spam_report_share": 0.0,
    "review_share": 1.0,
    "task_completion_share": 1.0,
    "referral_share": 1.0,
    "referral_placed_share": 0.0,
}


def _serve(monkeypatch: pytest.MonkeyPatch, **engagement: float) -> Iterator[SandboxServer]:
    settings = SandboxSettings(seed=42, engagement=engagement, twilio={"opted_out_share": 0.0})
    with SandboxServer(settings) as server:
        point_connections_at(server, monkeypatch)
        yield server


@pytest.fixture
def certain(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    yield from _serve(monkeypatch, **CERTAIN)


@pytest.fixture
def provider_connections(certain: SandboxServer) -> SandboxServer:
    """The connections point at the ``certain`` sandbox (for ``preferences_service``)."""
    return certain


@pytest.fixture
def duck(duckdb_warehouse: Any) -> Iterator[sa.Engine]:
    engine = connections.warehouse_engine()
    warehouse.migrate(engine)
    yield engine
    engine.dispose()


def load_all(engine: sa.Engine) -> Counter[str]:
    """Every feed once, at the sandbox clock's instant, as the DAG's load tasks do."""
    config, now = load_config(), clock().now()
    providers = Providers(config, "email", get_connection)
    counts: Counter[str] = Counter()
    counts.update(loads.load_sms(engine, config, providers.sms, now))
    counts.update(loads.load_email(engine, config, providers.email, now))
    counts.update(loads.load_reviews(engine, config, providers.reviews, now))
    counts.update(loads.load_ats(engine, config, providers.ats, now))
    if connections.has_connection(connections.PREFERENCES):  # a test serves it
        counts.update(loads.load_preferences(engine, config, providers.preferences, now))
    return counts


def follow_up(engine: sa.Engine, config: Config | None = None) -> Counter[str]:
    """The follow_up task (the shipped config's settings unless given), at the sandbox clock's
    instant."""
    config = config or load_config()
    ats = Providers(config, "phone", get_connection).ats
    return followups.follow_up(engine, config, ats, clock().now())


def rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql)).all()]


def ats_notes(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return requests.get(f"{sandbox.url}/sandbox/ats/truth/Note", timeout=10).json()["data"]


def test_each_feed_lands_as_its_rows_and_a_replay_adds_nothing(
    duck: sa.Engine, certain: SandboxServer, preferences_service: Any
) -> None:
    config = load_config()
    expected = day_of_every_channel(duck, certain)
    # a referral ask to a candidate of the ATS's own (the ATS adds the friend they refer)
    truth = requests.get(f"{certain.url}/sandbox/ats/truth/Placement?count=2", timeout=10)
    ats = truth.json()["data"][1]
    candidate(duck, ats["candidate"]["id"])
    placement(duck, ats["id"], ats["candidate"]["id"], start_date=date(2026, 8, 25))
    ask = f"referral_ask:placement:{ats['id']}:1"
    plan.plan(duck, config, D)
    set_clock(certain, "2026-11-23T12:00:00Z")
    run_dispatch(duck, config)
    assert {v[0] for v in ledger(duck).values()} == {"sent"}
    # the candidates sent a video by email open its page, play it to the end, follow its call
    # to action (the preferences service records it; its feed is loaded with the rest)
    everyone = {"video_open_share": 1.0, "video_play_share": 1.0, "video_cta_share": 1.0}
    watched = use_links(
        certain.url, preferences_service.url, set(), unsubscribe_share=0.0, **everyone
    )
    # the engagement DAG runs every few hours: a load the next day, then weeks later, when every
    # outcome has happened (reviews take up to 10 days, referrals up to 20)
    set_clock(certain, "2026-11-24T12:00:00Z")
    counts = load_all(duck)
    set_clock(certain, "2026-12-20T12:00:00Z")
    counts.update(load_all(duck))
    events = Counter(
        (touchpoint, event)
        for touchpoint, event in rows(
            duck, "select touchpoint_id, event from engagement.delivery_events"
        )
    )
    by_route = {k: service for k, (_, service) in expected.items()}
    for touchpoint, service in by_route.items():
        if service == "sendgrid":  # every email delivered, opened and clicked
            assert {e for t, e in events if t == touchpoint} >= {"delivered", "opened", "clicked"}
        if service == "twilio":
            assert (touchpoint, "delivered") in events
    videos = [k for k, (channel, s) in expected.items() if (channel, s) == ("video", "sendgrid")]
    assert watched["video_pages_opened"] == len(videos + [ask]) == 2
    for touchpoint in (*videos, ask):
        assert {e for t, e in events if t == touchpoint} >= {"page_opened", "played", "cta_clicked"}
    [call] = [k for k, (channel, _) in expected.items() if channel == "phone"]
    assert (call, "completed") in events
    responses = Counter(kind for (kind,) in rows(duck, "select kind from engagement.responses"))
    # one review (the review request's invitation), one referral (the ATS candidate's referral
    # ask: the synthetic placement 14 is unknown to the ATS), and a reply to each of the two
    # texts (negative: sms_negative_share is 1)
    assert responses == {"review": 1, "referral": 1, "reply": 2}
    [(stars, touchpoint)] = rows(
        duck,
        "select cast(detail ->> 'stars' as integer), touchpoint_id from engagement.responses"
        " where kind = 'review'",
    )
    assert 1 <= stars <= 5 and touchpoint == "review_request:placement:16:1"
    [(referrer, attributed)] = rows(
        duck, "select candidate_id, touchpoint_id from engagement.responses where kind = 'referral'"
    )
    assert (referrer, attributed) == (ats["candidate"]["id"], ask)
    assert counts["reviews"] == 1

    # the next load reads on from the cursors: nothing new to read
    assert load_all(duck)["video_events"] == 0

    # a replay of every feed (watermarks put back) adds nothing
    before = rows(duck, "select count(*) from engagement.delivery_events")
    with duck.begin() as conn:
        conn.execute(sa.text("delete from engagement.watermarks"))
    load_all(duck)
    assert rows(duck, "select count(*) from engagement.delivery_events") == before
    assert (
        sum(
            Counter(
                kind for (kind,) in rows(duck, "select kind from engagement.responses")
            ).values()
        )
        == 4
    )


def test_a_negative_reply_gets_a_call_task_once_and_blocks_the_review_request(
    duck: sa.Engine, certain: SandboxServer
) -> None:
    """A check-in by text answered negatively: a recruiter call task in the ATS, made once,
    and no review request for that placement."""
    config = load_config()
    truth = requests.get(f"{certain.url}/sandbox/ats/truth/Placement?count=1", timeout=10)
    [ats] = truth.json()["data"]
    candidate(duck, ats["candidate"]["id"], email=None)  # the check-in goes by sms
    placement(
        duck,
        ats["id"],
        ats["candidate"]["id"],
        owner_id=ats["owner"]["id"],
        start_date=date(2026, 10, 19),
    )
    plan.plan(duck, config, D)
    check_in = f"check_in:placement:{ats['id']}:1"
    assert ledger(duck)[check_in][:3] == ("planned", None, "sms")
    set_clock(certain, "2026-11-23T12:00:00Z")
    run_dispatch(duck, config)
    set_clock(certain, "2026-11-26T12:00:00Z")
    load_all(duck)
    [(kind, sentiment, touchpoint)] = rows(
        duck,
        "select kind, detail ->> 'sentiment', touchpoint_id from engagement.responses",
    )
    assert (kind, sentiment, touchpoint) == ("reply", "negative", check_in)

    assert follow_up(duck) == {"call_tasks_made": 1}
    assert follow_up(duck) == {}  # made once
    tasks = requests.get(f"{certain.url}/sandbox/ats/truth/Task", timeout=10).json()["data"]
    calls = [t for t in tasks if "aftercare response:" in t["description"]]
    assert len(calls) == 1 and calls[0]["owner"]["id"] == ats["owner"]["id"]
    # the placement's review request, due three weeks later, is blocked by the reply
    plan.plan(duck, config, date(2026, 12, 14))
    review = f"review_request:placement:{ats['id']}:1"
    assert ledger(duck)[review][:2] == ("suppressed", "negative_reply")


@pytest.fixture
def stopping(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    yield from _serve(
        monkeypatch,
        **{
            **CERTAIN,
            "sms_stop_share": 1.0,
            "email_bounce_share": 1.0,
            "email_hard_bounce_share": 1.0,
        },
    )


def test_stop_and_hard_bounce_suppress_the_next_plan(
    duck: sa.Engine, stopping: SandboxServer
) -> None:
    config = load_config()
    candidate(duck, 1)  # first day by sms: answered STOP
    placement(duck, 11, 1, start_date=D)
    candidate(duck, 2, mobile_e164=None)  # first day by email: bounces hard
    placement(duck, 12, 2, start_date=D)
    plan.plan(duck, config, D)
    set_clock(stopping, "2026-11-23T12:00:00Z")
    run_dispatch(duck, config)
    set_clock(stopping, "2026-11-26T12:00:00Z")
    load_all(duck)
    assert rows(duck, "select candidate_id, channel from aftercare.suppressions order by 1") == [
        (1, "sms"),
        (2, "email"),
    ]
    assert rows(duck, "select kind, candidate_id from engagement.responses") == [("opt_out", 1)]
    # their next milestones: by email for the first, nothing left for the second
    placement(duck, 21, 1, start_date=date(2026, 11, 27))
    placement(duck, 22, 2, start_date=date(2026, 11, 27))
    plan.plan(duck, config, date(2026, 11, 27))
    assert ledger(duck)["first_day:placement:21:1"][:3] == ("planned", None, "email")
    assert ledger(duck)["first_day:placement:22:1"][:2] == ("suppressed", "no_eligible_channel")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", "stop"),
        ("Stop.", "stop"),
        ("start", "start"),
        ("YES", "answer_yes"),
        ("no!", "answer_no"),
        ("Not great to be honest, struggling", "negative"),
        ("All good thanks, loving it", "positive"),
        ("see you at the weekend", "none"),
        ("please stop texting me", "none"),  # not the whole reply: read for sentiment only
    ],
)
def test_reading_a_reply(text: str, expected: str) -> None:
    assert loads.reading(text, load_config().engagement.keywords) == expected


def sent(
    engine: sa.Engine, touchpoint_id: str, candidate_id: int, at: str, channel: str = "email"
) -> None:
    milestone = touchpoint_id.split(":")[0]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into aftercare.touchpoints (touchpoint_id, milestone, candidate_id,"
                " occurrence, channel, due_date, status, sent_at)"
                " values (:t, :m, :c, 1, :channel, cast(:at as date), 'sent',"
                " cast(:at as timestamptz))"
            ),
            {"t": touchpoint_id, "m": milestone, "c": candidate_id, "at": at, "channel": channel},
        )


def test_referrals_are_attributed_within_the_window_and_converted_when_placed(
    warehouse_engine: sa.Engine,
) -> None:
    engine = warehouse_engine
    warehouse.migrate(engine)
    config = load_config()
    assert config.engagement.referral_window_days == 60
    for candidate_id in (1, 2, 3):
        candidate(engine, candidate_id)
    sent(engine, "birthday:candidate:1:2026", 1, "2026-10-01T09:00:00+00:00")
    sent(engine, "referral_ask:placement:11:1", 1, "2026-09-20T11:00:00+00:00")
    sent(engine, "check_in:placement:12:1", 2, "2026-07-01T10:00:00+00:00")
    referrals = [
        # 1 was asked 41 days before: the ask wins over the later birthday message
        {
            "referred_candidate_id": 901,
            "referrer_id": 1,
            "occurred_at": "2026-10-31T12:00:00+00:00",
        },
        # 2's only touchpoint is 122 days old: outside the window, unattributed
        {
            "referred_candidate_id": 902,
            "referrer_id": 2,
            "occurred_at": "2026-10-31T12:00:00+00:00",
        },
        # 3 was never touched: still their referral
        {
            "referred_candidate_id": 903,
            "referrer_id": 3,
            "occurred_at": "2026-10-31T12:00:00+00:00",
        },
    ]
    loads._store(engine, "referrals", "c1", referrals=referrals, window_days=60)
    loads._store(engine, "referrals", "c2", referrals=referrals, window_days=60)  # a replay
    got = rows(
        engine,
        "select candidate_id, touchpoint_id, detail ->> 'converted' from engagement.responses"
        " where kind = 'referral' order by candidate_id",
    )
    assert got == [
        (1, "referral_ask:placement:11:1", "false"),
        (2, None, "false"),
        (3, None, "false"),
    ]
    # the friend 1 referred is placed: converted on the next load
    candidate(engine, 901)
    placement(engine, 5001, 901, start_date=date(2026, 11, 20))
    loads._store(engine, "referrals", "c3")
    got = rows(
        engine,
        "select candidate_id, detail ->> 'converted', cast(detail ->> 'placement_id' as integer)"
        " from engagement.responses where kind = 'referral' order by candidate_id",
    )
    assert got == [(1, "true", 5001), (2, "false", None), (3, "false", None)]


@pytest.fixture
def answering(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    yield from _serve(monkeypatch, **{**CERTAIN, "sms_yes_share": 1.0})


def test_a_yes_to_an_availability_check_is_an_answer_and_a_note_in_the_ats(
    duck: sa.Engine, answering: SandboxServer
) -> None:
    config = load_config()
    truth = requests.get(f"{answering.url}/sandbox/ats/truth/Placement?count=1", timeout=10)
    [ats] = truth.json()["data"]
    candidate(duck, ats["candidate"]["id"])
    # a temp whose contract ends two weeks after D: asked on D whether they are available
    placement(
        duck,
        ats["id"],
        ats["candidate"]["id"],
        owner_id=ats["owner"]["id"],
        employment_class="temp",
        start_date=date(2026, 9, 1),
        end_date=date(2026, 12, 7),
    )
    plan.plan(duck, config, D)
    check = f"availability_check:placement:{ats['id']}:1"
    assert ledger(duck)[check][:3] == ("planned", None, "sms")
    set_clock(answering, "2026-11-23T12:00:00Z")
    run_dispatch(duck, config)
    set_clock(answering, "2026-11-26T12:00:00Z")
    load_all(duck)
    assert rows(
        duck, "select kind, detail ->> 'answer', touchpoint_id from engagement.responses"
    ) == [("availability", "yes", check)]
    assert follow_up(duck) == {"notes_made": 1}
    notes = ats_notes(answering)
    assert [n["personReference"]["id"] for n in notes] == [ats["candidate"]["id"]]
    assert "answered yes" in notes[0]["comments"]


@pytest.fixture
def restarting(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    yield from _serve(monkeypatch, **{**CERTAIN, "sms_stop_share": 1.0, "sms_start_share": 1.0})


def test_start_after_stop_lifts_the_sms_suppression(
    duck: sa.Engine, restarting: SandboxServer
) -> None:
    config = load_config()
    candidate(duck, 1)
    placement(duck, 11, 1, start_date=D)
    plan.plan(duck, config, D)
    set_clock(restarting, "2026-11-23T12:00:00Z")
    run_dispatch(duck, config)
    # to the STOP (within two days), in steps shorter than the day before a START can follow
    for hour in range(12, 61, 12):
        set_clock(
            restarting, (datetime(2026, 11, 23, 12, tzinfo=UTC) + timedelta(hours=hour)).isoformat()
        )
        replies = requests.get(f"{restarting.url}/sandbox/twilio/replies", timeout=10).json()
        if replies["data"]:
            break
    assert [reply["body"] for reply in replies["data"]] == ["STOP"]
    load_all(duck)
    assert rows(duck, "select channel, reason from aftercare.suppressions") == [("sms", "sms_stop")]
    set_clock(restarting, "2026-12-28T12:00:00Z")  # START within 30 days of it
    load_all(duck)
    assert rows(duck, "select count(*) from aftercare.suppressions") == [(0,)]
    # and it stays lifted when the feeds run again
    load_all(duck)
    assert rows(duck, "select count(*) from aftercare.suppressions") == [(0,)]


def notes_on(config: Config) -> Config:
    """The config with the ATS notes of sent touchpoints on (the shipped one has them off)."""
    notes = config.engagement.ats_notes.model_copy(update={"enabled": True})
    engagement = config.engagement.model_copy(update={"ats_notes": notes})
    return config.model_copy(update={"engagement": engagement})


def ats_candidates(sandbox: SandboxServer, count: int) -> list[int]:
    truth = requests.get(f"{sandbox.url}/sandbox/ats/truth/Candidate?count={count}", timeout=10)
    return [record["id"] for record in truth.json()["data"]]


def test_each_sent_touchpoint_gets_one_note_in_the_ats_when_on(
    warehouse_engine: sa.Engine, provider_connections: SandboxServer
) -> None:
    """A note on the candidate for each touchpoint sent within the reach-back but by phone,
    made once; one the ATS refuses for good is recorded and holds up nothing; one the ATS
    failed is made at the next run; none while the setting is off."""
    engine, sandbox = warehouse_engine, provider_connections
    warehouse.migrate(engine)
    first, second, third = ats_candidates(sandbox, 3)
    set_clock(sandbox, "2026-11-24T12:00:00Z")
    sent(engine, "check_in:placement:11:1", first, "2026-11-23T10:00:00+00:00")
    sent(engine, "first_day:placement:12:1", second, "2026-11-10T08:00:00+00:00")  # too old
    sent(engine, "check_in_call:placement:11:1", first, "2026-11-23T10:00:00+00:00", "phone")
    sent(engine, "birthday:candidate:999999999:2026", 999999999, "2026-11-23T09:00:00+00:00")

    assert engagement_tasks.follow_up() == {}  # the DAG's task, with the shipped setting: off
    assert ats_notes(sandbox) == []

    config = notes_on(load_config())
    assert config.engagement.ats_notes.action == "Aftercare"
    # the candidate unknown to the ATS: refused for good (HTTP 400), recorded
    assert follow_up(engine, config) == {"touchpoint_notes_made": 1, "touchpoint_notes_refused": 1}
    [note] = ats_notes(sandbox)
    assert note["personReference"]["id"] == first and note["action"] == "Aftercare"
    assert note["comments"] == (
        "Aftercare sent the check in message by email on 23 Nov 2026 at 10:00 (Europe/London)."
        "\n\naftercare touchpoint: check_in:placement:11:1."
    )
    assert follow_up(engine, config) == {}  # made once
    assert len(ats_notes(sandbox)) == 1
    assert rows(
        engine,
        "select source_id, ats_id, failed_reason from engagement.actions order by source_id",
    ) == [
        ("birthday:candidate:999999999:2026", None, "ats_400"),
        ("check_in:placement:11:1", note["id"], None),
    ]

    # the ATS failing (after the client's retries): nothing recorded, made at the next run
    sent(engine, "check_in:placement:13:1", third, "2026-11-24T10:00:00+00:00")
    faults(sandbox, "ats", share_500=1.0)
    assert follow_up(engine, config) == {"touchpoint_notes_retry": 1}
    faults(sandbox, "ats")
    assert follow_up(engine, config) == {"touchpoint_notes_made": 1}
    assert sorted(n["personReference"]["id"] for n in ats_notes(sandbox)) == sorted([first, third])


def test_a_note_made_but_not_recorded_is_found_not_made_again(
    warehouse_engine: sa.Engine, provider_connections: SandboxServer
) -> None:
    """A run that made a note and lost the answer (or died before recording it): the next
    finds it by its touchpoint's marker; the marker of the 10th occurrence of a touchpoint is
    not the 1st's."""
    engine, sandbox = warehouse_engine, provider_connections
    warehouse.migrate(engine)
    first, second = ats_candidates(sandbox, 2)
    set_clock(sandbox, "2026-11-24T12:00:00Z")
    sent(engine, "check_in:placement:11:1", first, "2026-11-23T10:00:00+00:00")
    sent(engine, "work_anniversary:placement:12:1", second, "2026-11-23T10:00:00+00:00")
    ats = Providers(load_config(), "phone", get_connection).ats
    made = ats.create_note(first, "Sent.\n\naftercare touchpoint: check_in:placement:11:1.", "x")
    ats.create_note(second, "Sent.\n\naftercare touchpoint: work_anniversary:placement:12:10.", "x")

    config = notes_on(load_config())
    assert follow_up(engine, config) == {"touchpoint_notes_found": 1, "touchpoint_notes_made": 1}
    assert len(ats_notes(sandbox)) == 3
    assert rows(engine, "select ats_id from engagement.actions where source_id like 'check%'") == [
        (made,)
    ]
    assert follow_up(engine, config) == {}


def test_follow_ups_recorded_before_the_touchpoint_notes_stay_recorded(
    warehouse_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0015 generalises engagement.actions: the follow-ups made before it keep their
    rows, keyed now by what they were made for and their action."""
    engine = warehouse_engine
    everything = warehouse.migrations()
    with monkeypatch.context() as before:
        before.setattr(warehouse, "migrations", lambda: [m for m in everything if m.version < 15])
        warehouse.migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into engagement.actions (response_id, action, ats_id, failed_reason)"
                " values ('SM1', 'call_task', 7, null), ('SM2', 'note', null, 'ats_400')"
            )
        )
    assert warehouse.migrate(engine) == [m.name for m in everything if m.version >= 15]
    with warehouse.transaction(engine) as conn:  # recorded already: kept as it was
        warehouse.execute_file(
            conn,
            "engagement/record_action.sql",
            {"source_id": "SM1", "action": "call_task", "ats_id": 8, "failed_reason": None},
        )
    assert rows(
        engine,
        "select source_id, action, ats_id, failed_reason from engagement.actions order by 1",
    ) == [("SM1", "call_task", 7, None), ("SM2", "note", None, "ats_400")]
