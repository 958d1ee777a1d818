"""What the ops console reads (aftercare.ops.read) on a hand-made warehouse, on DuckDB and on
Postgres: every page's numbers and rows against what was inserted (expectations worked out here
from the rows, not by the console's SQL), read through a read-only connection as the console
reads (a DuckDB snapshot opened read only; Postgres in read-only transactions)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

import pytest
import sqlalchemy as sa

from aftercare import warehouse
from aftercare.config import load_config
from aftercare.ops import read

DAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def at(days: int, hour: int = 0, minute: int = 0) -> datetime:
    """The UTC instant ``days`` after DAY's midnight, at hour:minute."""
    return datetime.combine(DAY, time(hour, minute), UTC) + timedelta(days=days)


# candidate id -> (email, mobile); 2 and 9 share a mobile, 1 and 10 differ only by case
CANDIDATES = {
    1: ("Ada.Lovelace@Example.com", "+447911123401"),
    2: ("grace@example.com", "+447911123402"),
    3: ("alan@example.com", "+447911123403"),
    4: ("edsger@example.com", None),
    5: (None, "+447911123405"),
    6: ("barbara@example.com", None),
    7: ("ken@example.com", "+447911123407"),
    8: ("dennis@example.com", "+447911123408"),
    9: ("margaret@example.com", "+447911123402"),
    10: ("ada.lovelace@example.org", None),
}
# placement id -> candidate id
PLACEMENTS = {101: 1, 102: 2, 103: 3, 104: 4, 105: 5, 106: 6, 107: 1, 108: 2, 109: 3, 110: 4}
PLACEMENTS |= {111: 6, 112: 7, 113: 8, 114: 8, 115: 7, 116: 9, 117: 2}


class Tp(NamedTuple):
    """A ledger row: sent rows were sent at ``updated``; ``route``: the last try's."""

    milestone: str
    placement: int | None
    candidate: int
    channel: str | None
    due: int  # days from DAY
    status: str
    reason: str | None
    updated: datetime
    doubt: bool = False
    route: str | None = None

    @property
    def sent_at(self) -> datetime | None:
        return self.updated if self.status == "sent" else None


FAILED, SENT, PLANNED = "failed", "sent", "planned"
TOUCHPOINTS = {
    "a1": Tp("first_day", 101, 1, "email", 0, SENT, None, at(0, 8), route="email"),
    "a2": Tp("first_day", 102, 2, "email", 0, SENT, None, at(0, 8), route="email"),
    "a3": Tp("first_day", 103, 3, "sms", 0, FAILED, "twilio_21211", at(0, 9), route="sms"),
    "a4": Tp("first_day", 104, 4, "sms", 0, FAILED, "twilio_21211", at(0, 9, 5), route="sms"),
    "a5": Tp("first_day", 105, 5, None, 0, "suppressed", "no_eligible_channel", at(-1)),
    "a6": Tp("first_day", 106, 6, "email", 0, PLANNED, None, at(0, 9), True, "email"),
    "a7": Tp("check_in", 107, 1, "phone", 0, PLANNED, None, at(-1)),
    "a8": Tp("check_in", 108, 2, "sms", 0, "expired", "missed_window", at(0, 1)),
    "a9": Tp("check_in", 109, 3, "email", 0, "cancelled", "placement_ended", at(-1)),
    "a10": Tp("check_in", 110, 4, "email", 0, FAILED, "unrenderable", at(0, 9, 1), route="email"),
    "a11": Tp("birthday", None, 5, "email", 0, "suppressed", "frequency_cap", at(-1)),
    "a12": Tp("review_request", 101, 1, "video", 0, SENT, None, at(0, 10), route="email"),
    "a13": Tp("review_request", 117, 2, "video", 0, SENT, None, at(0, 10), route="sms"),
    "b1": Tp("first_day", 111, 6, "email", -1, SENT, None, at(-1, 8), route="email"),
    "b2": Tp("check_in", 112, 7, "email", -3, FAILED, "sendgrid_400", at(-3, 10), route="email"),
    "b3": Tp("check_in", 113, 8, "sms", -40, FAILED, "twilio_21211", at(-40), route="sms"),
    "b4": Tp("work_anniversary", 114, 8, "phone", 1, PLANNED, None, at(0, 11), True, "phone"),
    "b5": Tp("review_request", 115, 7, "email", -10, SENT, None, at(-10, 9), route="email"),
    "b6": Tp("review_request", 116, 9, "email", -20, SENT, None, at(-20, 9), route="email"),
    "b7": Tp("check_in", 117, 2, "sms", -2, SENT, None, at(-2, 9), route="sms"),
    "b8": Tp("check_in", 116, 9, "sms", -45, SENT, None, at(-45, 9), route="sms"),
}

# (event id, touchpoint, channel, event, at, detail, loaded_at)
EVENTS = [
    ("e1", "a1", "email", "delivered", at(0, 8, 1), {}, at(0, 12)),
    ("e2", "a1", "email", "spam_report", at(0, 9), {}, at(0, 12)),
    ("e3", "a2", "email", "bounced", at(0, 8, 2), {"bounce_type": "soft"}, at(0, 12)),
    ("e4", "b5", "email", "bounced", at(-10, 9, 1), {"bounce_type": "hard"}, at(-10, 12)),
    ("e5", "b6", "email", "bounced", at(-20, 9, 1), {"bounce_type": "hard"}, at(-20, 12)),
    ("e6", "b6", "email", "bounced", at(-20, 9, 2), {"bounce_type": "hard"}, at(-20, 12)),
    ("e7", "b7", "sms", "undelivered", at(-2, 9, 1), {"error_code": 30003}, at(-2, 12)),
    ("e8", "a12", "email", "opened", at(0, 11), {}, at(0, 12)),
    ("e9", "b8", "sms", "failed", at(-45, 9, 1), {"error_code": 30005}, at(-45, 12)),
    ("e10", "a13", "sms", "delivered", at(0, 10, 1), {}, at(0, 13)),
]
# (response id, candidate, kind, at, touchpoint, detail, loaded_at)
RESPONSES = [
    ("r1", 1, "review", at(0, 11), "a12", {"stars": 5, "review_id": "R1"}, at(0, 12)),
    ("r2", 2, "reply", at(-2, 10), "b7", {"sentiment": "negative"}, at(-2, 12)),
    ("r3", 1, "opt_out", at(0, 9), "a1", {"channel": "email", "keyword": "spam"}, at(0, 12)),
]
# (candidate, channel, reason, source, created_at)
SUPPRESSIONS = [
    (1, "email", "email_spam_report", "engagement", at(0, 12)),
    (1, "marketing", "preferences", "preferences", at(-5)),
    (3, "sms", "sms_opted_out", "dispatch", at(-4)),
]
# batch id -> (run id, channel, created_at, recorded_at, touchpoints, outcomes). A folded batch
# (recorded_at) has no items left and is its touchpoints' batch_id (the latest that tried them);
# a batch in flight keeps its items. b4, left in doubt by B6, is in flight again in B5 (the
# look-up)
BATCHES = {
    "B1": ("dispatch_r1", "sms", at(0, 8, 55), at(0, 9, 10), ["a3", "a4"], {"failed": 2}),
    "B2": ("dispatch_r2", "email", at(0, 8, 58), at(0, 9, 10), ["a6", "a10", "a1"], {"sent": 1}),
    "B3": ("dispatch_r0", "sms", at(-40), at(-40), ["b3"], {"failed": 1}),
    "B4": ("dispatch_r3", "email", at(-3, 9, 55), at(-3, 10), ["b2"], {"failed": 1}),
    "B6": ("dispatch_r5", "phone", at(0, 10, 40), at(0, 10, 45), ["b4"], {"in_doubt": 1}),
    "B5": ("dispatch_r4", "phone", at(0, 10, 58), None, ["b4"], None),
}
NOT_NULL = {"expectation": "expect_column_values_to_not_be_null", "column": "start_date"}
IN_SET = {"expectation": "expect_column_values_to_be_in_set", "column": "status"}
CHANGED = {"expectation": "expect_column_values_to_not_be_null", "column": "date_last_modified"}
GHOST = {"candidate_id": 50, "email": "Ghost@Example.com", "mobile_e164": "+447911123450"}
# (entity, record id, load, reasons, payload, quarantined_at, released_at, judge again asked)
QUARANTINE = [
    ("Candidate", "50", "L1", [CHANGED], GHOST, at(-2, 15), None, at(0, 14)),
    ("Placement", "900", "L1", [IN_SET, NOT_NULL], {"candidate_id": 1}, at(-1, 15), None, None),
    ("Placement", "901", "L2", [IN_SET], {"candidate_id": 3}, at(0, 13), None, None),
    ("Placement", "902", "L1", [IN_SET], {"candidate_id": 1}, at(-3), at(-2), None),
]
# (action id, kind, target, comment, by, requested, applied)
ACTIONS = [
    ("x1", "pause", "first_day", "typo in the template", "ops.bob", at(-3, 9), at(-3, 9, 2)),
    ("x2", "resume", "first_day", "fixed", "ops.bob", at(-2, 9), at(-2, 9, 1)),
    ("x3", "pause", "check_in", "wrong link", "ops.alice", at(0, 10), at(0, 10, 3)),
    ("x4", "rejudge", "Candidate:50:L1", "ATS fixed", "ops.alice", at(0, 13, 58), at(0, 14)),
]
PAUSES = [("check_in", "ops.alice", at(0, 10), "wrong link", "x3")]
NIGHTLY_RUN = "scheduled__2026-12-01T02:00:00+00:00"
EARLIER_RUN = "scheduled__2026-11-30T02:00:00+00:00"
BREAKER_RULE = {"expectation": "expect_column_max_to_be_between", "column": "quarantined_share"}


def insert(conn: sa.Connection, table: str, rows: list[dict], *json_columns: str) -> None:
    """Insert ``rows`` (dicts of the same columns) into ``table``; ``json_columns`` are given as
    JSON text."""
    kind = "jsonb" if conn.dialect.name == "postgresql" else "json"
    names = list(rows[0])
    values = [f"cast(:{c} as {kind})" if c in json_columns else f":{c}" for c in names]
    statement = f"insert into {table} ({', '.join(names)}) values ({', '.join(values)})"  # noqa: S608 - the test's own names
    conn.execute(sa.text(statement), rows)


def _last_batch(tid: str) -> str | None:
    """The latest folded batch that carried ``tid`` (what the fold keeps in the ledger)."""
    folded = [(b[2], bid) for bid, b in BATCHES.items() if b[3] is not None and tid in b[4]]
    return max(folded)[1] if folded else None


def _touchpoint(tid: str, tp: Tp) -> dict:
    return {
        "batch_id": _last_batch(tid),
        "touchpoint_id": tid,
        "milestone": tp.milestone,
        "placement_id": tp.placement,
        "candidate_id": tp.candidate,
        "occurrence": 1,
        "channel": tp.channel,
        "due_date": DAY + timedelta(days=tp.due),
        "window_end": DAY + timedelta(days=tp.due + 2),
        "send_at": at(tp.due, 8),
        "status": tp.status,
        "reason": tp.reason,
        "sent_at": tp.sent_at,
        "provider_message_id": f"pm-{tid}" if tp.sent_at else None,
        "updated_at": tp.updated,
        "planned_at": at(tp.due - 5),
        "in_doubt": tp.doubt,
        "attempts": 1 if tp.route else 0,
        "attempt": json.dumps({"route": tp.route}) if tp.route else None,
    }


def _validation(run_id: str, suite: str, failed: list, validated_at: datetime) -> dict:
    evaluated = 2
    return {
        "run_id": run_id,
        "suite": suite,
        "chunk": 1,
        "evaluated": evaluated,
        "passed": evaluated - len(failed),
        "failed": len(failed),
        "failed_share": len(failed) / evaluated,
        "success": not failed,
        "failed_expectations": json.dumps(failed),
        "docs_url": f"file:///docs/{suite}.html",
        "validated_at": validated_at,
    }


def fill(engine: sa.Engine) -> None:
    stamp = at(-100)
    candidates = [
        {"candidate_id": cid, "first_name": f"First{cid}", "last_name": f"Last{cid}"}
        | {"email": email, "mobile_e164": mobile, "sms_opt_in": mobile is not None}
        | {"date_last_modified": stamp, "load_id": "L0"}
        for cid, (email, mobile) in CANDIDATES.items()
    ]
    placements = [
        {"placement_id": pid, "candidate_id": cid, "owner_id": 7, "job_title": "Welder"}
        | {"employment_class": "permanent", "status": "Placed", "is_active": True}
        | {"start_date": DAY - timedelta(days=pid), "date_last_modified": stamp, "load_id": "L0"}
        for pid, cid in PLACEMENTS.items()
    ]
    events = [
        {"event_id": eid, "touchpoint_id": tid, "channel": channel, "event": event}
        | {"event_at": when, "detail": json.dumps(detail), "loaded_at": loaded}
        for eid, tid, channel, event, when, detail, loaded in EVENTS
    ]
    responses = [
        {"response_id": rid, "candidate_id": cid, "kind": kind, "occurred_at": when}
        | {"touchpoint_id": tid, "detail": json.dumps(detail), "loaded_at": loaded}
        for rid, cid, kind, when, tid, detail, loaded in RESPONSES
    ]
    suppressions = [
        {"candidate_id": cid, "channel": channel, "reason": reason, "source": source}
        | {"created_at": created}
        for cid, channel, reason, source, created in SUPPRESSIONS
    ]
    batches = [
        {"batch_id": bid, "run_id": run_id, "channel": channel, "path": f"/staging/{bid}"}
        | {"touchpoints": len(items), "dry_run": False, "created_at": created}
        | {"recorded_at": recorded, "outcomes": json.dumps(outcomes) if outcomes else None}
        for bid, (run_id, channel, created, recorded, items, outcomes) in BATCHES.items()
    ]
    items = [
        {"batch_id": bid, "touchpoint_id": tid}
        for bid, batch in BATCHES.items()
        if batch[3] is None
        for tid in batch[4]
    ]
    quarantine = [
        {"entity": entity, "record_id": rid, "load_id": load, "reasons": json.dumps(reasons)}
        | {"payload": json.dumps(payload), "quarantined_at": when, "released_at": released}
        | {"rejudge_requested_at": rejudge}
        for entity, rid, load, reasons, payload, when, released, rejudge in QUARANTINE
    ]
    validations = [
        _validation(EARLIER_RUN, "loads", [], at(-1, 2, 5)),
        _validation(NIGHTLY_RUN, "placement_rows", [IN_SET], at(0, 2, 3)),
        _validation(NIGHTLY_RUN, "loads", [BREAKER_RULE], at(0, 2, 4)),
    ]
    loads = [
        {"load_id": load, "entity": entity, "mode": "incremental", "run_id": run_id}
        | {"records": records, "started_at": started}
        for load, entity, run_id, records, started in [
            ("L1", "Candidate", NIGHTLY_RUN, 40, at(0, 2)),
            ("L2", "Placement", NIGHTLY_RUN, 120, at(0, 2, 1)),
            ("L0", "Placement", EARLIER_RUN, 17, at(-100)),
        ]
    ]
    summaries = [
        {"dag_id": "aftercare_nightly", "run_date": DAY, "run_id": NIGHTLY_RUN}
        | {"counts": json.dumps({"placements_pulled": 120}), "recorded_at": at(0, 2, 10)},
        {"dag_id": "aftercare_nightly", "run_date": DAY - timedelta(days=1)}
        | {"run_id": EARLIER_RUN, "counts": "{}", "recorded_at": at(-1, 2, 10)},
    ]
    actions = [
        {"action_id": aid, "kind": kind, "target": target, "comment": comment}
        | {"requested_by": by, "requested_at": requested, "applied_at": applied, "result": "{}"}
        for aid, kind, target, comment, by, requested, applied in ACTIONS
    ]
    pauses = [
        {"milestone": m, "paused_by": by, "paused_at": when, "comment": comment, "action_id": aid}
        for m, by, when, comment, aid in PAUSES
    ]
    with engine.begin() as conn:
        insert(conn, "staging.candidates", candidates)
        insert(conn, "staging.placements", placements)
        touchpoints = [_touchpoint(tid, tp) for tid, tp in TOUCHPOINTS.items()]
        insert(conn, "aftercare.touchpoints", touchpoints, "attempt")
        insert(conn, "engagement.delivery_events", events, "detail")
        insert(conn, "engagement.responses", responses, "detail")
        follow_up = {"source_id": "r2", "action": "call_task", "ats_id": 77, "done_at": at(0, 12)}
        insert(conn, "engagement.actions", [follow_up])
        insert(conn, "aftercare.suppressions", suppressions)
        insert(conn, "aftercare.dispatch_batches", batches, "outcomes")
        insert(conn, "aftercare.dispatch_items", items)
        insert(conn, "quality.quarantine", quarantine, "reasons", "payload")
        insert(conn, "quality.validation_runs", validations, "failed_expectations")
        insert(conn, "raw.loads", loads)
        insert(conn, "aftercare.run_summaries", summaries, "counts")
        insert(conn, "aftercare.ops_actions", actions, "result")
        insert(conn, "aftercare.milestone_pauses", pauses)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def reader(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Connection]:
    """A connection to the hand-made warehouse (built once per backend), read as the console
    reads: on DuckDB the snapshot the warehouse tasks publish, opened read only; Postgres live
    (in read-only transactions, to show the pages write nothing)."""
    if request.param == "duckdb":
        url = sa.URL.create("duckdb", database=str(tmp_path_factory.mktemp("ops") / "w.duckdb"))
        writer = filled(url)
        warehouse.publish_snapshot(writer)
        writer.dispose()
        engine, _published = warehouse.open_snapshot(url)
        with engine.connect() as conn:
            yield conn
        engine.dispose()
    else:
        with request.getfixturevalue("postgres_server").database() as uri:
            filled(sa.make_url(uri)).dispose()
            engine = sa.create_engine(uri, execution_options={"postgresql_readonly": True})
            with engine.connect() as conn:
                yield conn
            engine.dispose()


def filled(url: sa.URL) -> sa.Engine:
    engine = warehouse.create_engine(url)
    warehouse.migrate(engine)
    fill(engine)
    return engine


def due_today() -> dict[str, Tp]:
    return {tid: tp for tid, tp in TOUCHPOINTS.items() if tp.due == 0}


def test_today_counts_every_cell_of_the_ledger(reader: sa.Connection) -> None:
    page = read.today(reader, DAY)
    expected = Counter((tp.milestone, tp.channel, tp.status) for tp in due_today().values())
    assert {(c.milestone, c.channel, c.status): c.count for c in page.counts} == expected
    assert page.day == DAY
    # in doubt: whatever the day, the latest due first
    assert [t.touchpoint_id for t in page.in_doubt] == ["b4", "a6"]
    assert all(t.in_doubt and t.status == "planned" for t in page.in_doubt)
    # the quarantine: open rows by entity and rule (902 is released)
    assert {(q.entity, q.expectation, q.field): q.count for q in page.quarantine} == {
        ("Candidate", CHANGED["expectation"], "date_last_modified"): 1,
        ("Placement", IN_SET["expectation"], "status"): 2,
        ("Placement", NOT_NULL["expectation"], "start_date"): 1,
    }
    assert page.quarantine_open == 3
    # the breaker: the last loads validation failed
    breaker = page.breaker
    assert breaker is not None
    assert (breaker.run_id, breaker.tripped, breaker.validated_at) == (
        NIGHTLY_RUN,
        True,
        at(0, 2, 4),
    )
    assert (breaker.loads_judged, breaker.loads_failed) == (2, 1)
    assert breaker.failed_rules == ("quarantined_share: expect_column_max_to_be_between",)
    assert [(p.milestone, p.paused_by, p.paused_at, p.comment) for p in page.pauses] == [
        ("check_in", "ops.alice", at(0, 10), "wrong link")
    ]


def test_a_day_with_nothing_due_names_the_nearest_days_that_have_touchpoints(
    reader: sa.Connection,
) -> None:
    dues = sorted({tp.due for tp in TOUCHPOINTS.values()})
    gap = next(due for due in range(dues[0], dues[-1]) if due not in dues)  # a day between
    page = read.today(reader, DAY + timedelta(days=gap))
    assert page.counts == ()
    assert page.earlier_day == DAY + timedelta(days=max(d for d in dues if d < gap))
    assert page.later_day == DAY + timedelta(days=min(d for d in dues if d > gap))
    # past the last due date: only an earlier day; a day with touchpoints names neither
    last = read.today(reader, DAY + timedelta(days=dues[-1] + 30))
    assert (last.earlier_day, last.later_day) == (DAY + timedelta(days=dues[-1]), None)
    busy = read.today(reader, DAY)
    assert (busy.earlier_day, busy.later_day) == (None, None)


@pytest.mark.parametrize(
    ("milestone", "channel", "status"),
    [
        ("first_day", "sms", "failed"),
        ("first_day", "none", "suppressed"),
        (None, None, "sent"),
        ("check_in", None, None),
        (None, "email", None),
        ("birthday", "sms", None),
    ],
)
def test_the_rows_behind_a_count(
    reader: sa.Connection, milestone: str | None, channel: str | None, status: str | None
) -> None:
    rows = read.touchpoints(reader, day=DAY, milestone=milestone, channel=channel, status=status)
    expected = {
        tid
        for tid, tp in due_today().items()
        if milestone in (None, tp.milestone)
        and channel in (None, tp.channel or "none")
        and status in (None, tp.status)
    }
    assert {r.touchpoint_id for r in rows} == expected
    for row in rows:
        tp = TOUCHPOINTS[row.touchpoint_id]
        assert (row.milestone, row.placement_id, row.candidate_id, row.channel) == tp[:4]
        assert (row.status, row.reason, row.updated_at, row.in_doubt) == (
            tp.status,
            tp.reason,
            tp.updated,
            tp.doubt,
        )
        assert (row.sent_at, row.send_at, row.due_date) == (tp.sent_at, at(0, 8), DAY)
        assert row.provider_message_id == (f"pm-{row.touchpoint_id}" if tp.sent_at else None)
    # all due the same day and sent at the same time: in id order; and limited
    assert [r.touchpoint_id for r in rows] == sorted(expected)
    limited = read.touchpoints(
        reader, day=DAY, milestone=milestone, channel=channel, status=status, limit=1
    )
    assert [r.touchpoint_id for r in limited] == sorted(expected)[:1]


def test_failures_by_provider_and_code_with_their_batches(reader: sa.Connection) -> None:
    page = read.failures(reader, now=NOW, settings=load_config().ops)
    assert page.since == NOW - timedelta(days=30)
    groups = {(g.provider, g.code): g for g in page.groups}
    # b3 failed 40 days ago: outside the window; rows in doubt count whatever their age
    assert {key: g.count for key, g in groups.items()} == {
        ("twilio", "twilio_21211"): 2,
        ("email", "unrenderable"): 1,
        ("sendgrid", "sendgrid_400"): 1,
        ("email", "in_doubt"): 1,
        ("phone", "in_doubt"): 1,
    }
    assert (page.groups[0].provider, page.groups[0].code) == ("twilio", "twilio_21211")
    twilio = groups["twilio", "twilio_21211"]
    assert twilio.sample_ids == ("a4", "a3")  # the latest first
    assert (twilio.first_seen, twilio.last_seen) == (at(0, 9), at(0, 9, 5))
    assert [(b.run_id, b.batch_id, b.channel) for b in twilio.batches] == [
        ("dispatch_r1", "B1", "sms")
    ]
    assert [b.batch_id for b in groups["sendgrid", "sendgrid_400"].batches] == ["B4"]
    assert [b.batch_id for b in groups["email", "unrenderable"].batches] == ["B2"]
    # the batch whose try left it in doubt, not the one in flight to look it up
    assert [b.batch_id for b in groups["phone", "in_doubt"].batches] == ["B6"]
    # a6, in doubt, was tried in B2; b3's B3 is the batch of a failure outside the window
    assert [b.batch_id for b in groups["email", "in_doubt"].batches] == ["B2"]
    assert "B3" not in {b.batch_id for g in page.groups for b in g.batches}

    settings = load_config().ops.model_copy(update={"sample_ids": 1})
    fewer = read.failures(reader, now=NOW, settings=settings)
    twilio = next(g for g in fewer.groups if g.code == "twilio_21211")
    assert (twilio.count, twilio.sample_ids) == (2, ("a4",))


def test_bounce_and_complaint_rates_against_the_thresholds(reader: sa.Connection) -> None:
    settings = load_config().ops
    page = read.failures(reader, now=NOW, settings=settings)
    assert (page.hard_bounce_threshold, page.complaint_threshold) == (0.02, 0.001)
    # worked out from the rows: sent touchpoints by channel and age, and their events
    hard = {"b5", "b6", "b7"}  # hard bounces (a2's is soft), sms undelivered (b8's is too old)
    spam = {"a1"}
    expected = {}
    for days in (7, 30):
        since = NOW - timedelta(days=days)
        for channel in ("email", "sms", "video"):
            sent = {
                tid
                for tid, tp in TOUCHPOINTS.items()
                if tp.channel == channel and tp.sent_at and since <= tp.sent_at
            }
            expected[channel, days] = (len(sent), len(sent & hard), len(sent & spam))
    rates = {(r.channel, r.days): r for r in page.rates}
    assert {key: (r.sent, r.hard_bounces, r.complaints) for key, r in rates.items()} == expected
    email_30 = rates["email", 30]
    assert (email_30.hard_bounce_rate, email_30.complaint_rate) == (2 / 5, 1 / 5)
    assert email_30.hard_bounce_over and email_30.complaint_over
    video_7 = rates["video", 7]
    assert (video_7.hard_bounce_rate, video_7.hard_bounce_over) == (0.0, False)
    lenient = settings.model_copy(update={"hard_bounce_rate": 1.0, "spam_complaint_rate": 1.0})
    relaxed = read.failures(reader, now=NOW, settings=lenient)
    assert not any(r.hard_bounce_over or r.complaint_over for r in relaxed.rates)


@pytest.mark.parametrize(
    ("query", "candidate_id", "matched_by", "others"),
    [
        ("1", 1, "candidate_id", ()),
        ("  ada.lovelace@EXAMPLE.com ", 1, "email", ()),
        ("07911 123401", 1, "mobile", ()),
        ("+44 7911-123401", 1, "mobile", ()),
        ("(07911) 123402", 2, "mobile", (9,)),
    ],
)
def test_candidate_look_up(
    reader: sa.Connection, query: str, candidate_id: int, matched_by: str, others: tuple
) -> None:
    view = read.candidate(reader, query, region="GB")
    assert view is not None
    assert (view.candidate_id, view.matched_by, view.other_matches) == (
        candidate_id,
        matched_by,
        others,
    )
    assert view.staged
    assert (view.email, view.mobile_e164) == CANDIDATES[candidate_id]
    assert view.first_name == f"First{candidate_id}"


def test_candidate_view_answers_why(reader: sa.Connection) -> None:
    view = read.candidate(reader, "1", region="GB")
    assert view is not None
    assert [p.placement_id for p in view.placements] == [101, 107]  # the latest start first
    mine = {tid for tid, tp in TOUCHPOINTS.items() if tp.candidate == 1}
    assert {t.touchpoint_id for t in view.touchpoints} == mine
    assert {(s.channel, s.reason) for s in view.suppressions} == {
        (channel, reason) for cid, channel, reason, _, _ in SUPPRESSIONS if cid == 1
    }
    assert [e.event_id for e in view.events] == ["e8", "e2", "e1"]  # the latest first
    assert [r.response_id for r in view.responses] == ["r1", "r3"]
    assert json.loads(view.responses[0].detail) == {"stars": 5, "review_id": "R1"}
    # its placements' quarantine rows, open and released, the latest first
    assert [(q.record_id, q.released_at) for q in view.quarantine] == [
        ("900", None),
        ("902", at(-2)),
    ]
    assert view.quarantine[0].fields == ("start_date", "status")
    consent = (view.email_opt_out, view.sms_opt_in, view.is_anonymized, view.is_deleted)
    assert consent == (False, True, False, False)


def test_a_candidate_known_only_from_quarantine(reader: sa.Connection) -> None:
    for query in ("50", "GHOST@example.com", "07911123450"):
        view = read.candidate(reader, query, region="GB")
        assert view is not None, query
        assert (view.candidate_id, view.staged, view.email) == (50, False, None)
        assert [(q.entity, q.record_id) for q in view.quarantine] == [("Candidate", "50")]
        assert view.quarantine[0].rejudge_requested_at == at(0, 14)


@pytest.mark.parametrize("query", ["", "nobody@example.com", "12345", "not a number"])
def test_candidate_not_found(reader: sa.Connection, query: str) -> None:
    assert read.candidate(reader, query, region="GB") is None


def test_quarantine_page_and_its_filter(reader: sa.Connection) -> None:
    page = read.quarantine(reader, now=NOW)
    open_rows = sorted((q for q in QUARANTINE if q[6] is None), key=lambda q: q[5])
    assert page.total == len(open_rows) == 3
    assert [(r.entity, r.record_id) for r in page.rows] == [(q[0], q[1]) for q in open_rows]
    assert page.rows[0].age_hours == pytest.approx(48)
    assert page.rows[0].rejudge_requested_at == at(0, 14)
    assert page.rows[1].reasons == (
        "status: expect_column_values_to_be_in_set",
        "start_date: expect_column_values_to_not_be_null",
    )
    counted = Counter((r["expectation"], r["column"]) for q in open_rows for r in q[3])
    assert {(r.expectation, r.field): r.count for r in page.reasons} == counted
    assert (page.reasons[0].expectation, page.reasons[0].field) == (IN_SET["expectation"], "status")

    status = read.quarantine(reader, now=NOW, reason=IN_SET["expectation"])
    assert ([r.record_id for r in status.rows], status.total) == (["900", "901"], 2)
    assert status.reasons == page.reasons  # the filter's choices stay whole
    field = read.quarantine(reader, now=NOW, reason=NOT_NULL["expectation"], field="start_date")
    assert [r.record_id for r in field.rows] == ["900"]
    limited = read.quarantine(reader, now=NOW, limit=1)
    assert (len(limited.rows), limited.total) == (1, 3)


def test_milestones_with_their_pause_and_last_action(reader: sa.Connection) -> None:
    config = load_config()
    views = read.milestones(reader, config)
    assert [v.name for v in views] == list(config.planning.milestones)
    by_name = {v.name: v for v in views}
    check_in, configured = by_name["check_in"], config.planning.milestones["check_in"]
    assert (check_in.anchor, check_in.offset_days, check_in.window_days) == (
        configured.anchor,
        configured.offset_days,
        configured.window_days,
    )
    assert (check_in.send_time, check_in.channels) == (
        configured.send_time,
        tuple(configured.channels),
    )
    assert check_in.pause is not None
    assert (check_in.pause.paused_by, check_in.pause.comment) == ("ops.alice", "wrong link")
    assert check_in.last_action is not None
    assert check_in.last_action.action_id == "x3"
    first_day = by_name["first_day"]
    assert first_day.pause is None
    assert first_day.last_action is not None
    last = first_day.last_action
    assert (last.kind, last.applied_at, last.requested_by) == ("resume", at(-2, 9, 1), "ops.bob")
    assert by_name["birthday"].last_action is None
    # the purpose as configured: first day a service message, the birthday marketing
    assert (first_day.purpose, by_name["birthday"].purpose) == ("service", "marketing")


def test_what_a_run_did(reader: sa.Connection) -> None:
    nightly = read.run(reader, dag_id="aftercare_nightly", run_id=NIGHTLY_RUN)
    assert [(s.run_date, json.loads(s.counts)) for s in nightly.summaries] == [
        (DAY, {"placements_pulled": 120})
    ]
    assert [(load.load_id, load.records) for load in nightly.loads] == [("L1", 40), ("L2", 120)]
    assert [(v.suite, v.success) for v in nightly.validations] == [
        ("placement_rows", False),
        ("loads", False),
    ]
    assert (nightly.batches, nightly.loaded, nightly.actions) == ((), (), ())

    dispatch = read.run(reader, dag_id="aftercare_dispatch", run_id="dispatch_r2")
    assert [(b.batch_id, b.touchpoints, json.loads(b.outcomes)) for b in dispatch.batches] == [
        ("B2", 3, {"sent": 1})
    ]
    assert (dispatch.summaries, dispatch.loads) == ((), ())
    in_flight = read.run(reader, dag_id="aftercare_dispatch", run_id="dispatch_r4")
    assert [(b.batch_id, b.recorded_at, b.outcomes) for b in in_flight.batches] == [
        ("B5", None, None)
    ]

    # engagement: what was loaded between the run's start and end
    engagement = read.run(
        reader,
        dag_id="aftercare_engagement",
        run_id="scheduled__2026-12-01T11:30:00+00:00",
        started_at=at(0, 11, 30),
        ended_at=at(0, 12, 30),
    )
    assert {(c.table, c.kind): c.count for c in engagement.loaded} == {
        ("delivery_events", "email/delivered"): 1,
        ("delivery_events", "email/spam_report"): 1,
        ("delivery_events", "email/bounced"): 1,
        ("delivery_events", "email/opened"): 1,
        ("responses", "review"): 1,
        ("responses", "opt_out"): 1,
        ("actions", "call_task"): 1,
        ("suppressions", "email/email_spam_report"): 1,
    }
    running = read.run(reader, dag_id="aftercare_engagement", run_id="m", started_at=at(0, 12, 45))
    assert {(c.table, c.kind): c.count for c in running.loaded} == {
        ("delivery_events", "sms/delivered"): 1
    }
    ops = read.run(
        reader, dag_id="aftercare_ops", run_id="m", started_at=at(0, 13, 59), ended_at=at(0, 15)
    )
    assert [a.action_id for a in ops.actions] == ["x4"]


def test_an_empty_warehouse(warehouse_engine: sa.Engine) -> None:
    warehouse.migrate(warehouse_engine)
    config = load_config()
    with warehouse_engine.connect() as conn:
        page = read.today(conn, DAY)
        assert (page.counts, page.in_doubt, page.quarantine, page.pauses) == ((), (), (), ())
        assert (page.quarantine_open, page.breaker) == (0, None)
        assert read.touchpoints(conn, day=DAY) == []
        failures = read.failures(conn, now=NOW, settings=config.ops)
        assert (failures.groups, failures.rates) == ((), ())
        assert read.candidate(conn, "1", region="GB") is None
        quarantine = read.quarantine(conn, now=NOW)
        assert (quarantine.rows, quarantine.total, quarantine.reasons) == ((), 0, ())
        views = read.milestones(conn, config)
        assert len(views) == len(config.planning.milestones)
        assert all(v.pause is None and v.last_action is None for v in views)
        empty = read.run(conn, dag_id="aftercare_nightly", run_id="x")
        assert (empty.summaries, empty.loads, empty.validations) == ((), (), ())


def test_read_engines_are_kept_per_snapshot_file(tmp_path) -> None:
    """The console keeps one read engine per published snapshot file: the same engine while the
    file is current (a task that wrote nothing only marks it current: a newer time), a new one
    once a publication renames a new file over it; a read still on the old one reads on."""
    url = sa.URL.create("duckdb", database=str(tmp_path / "w.duckdb"))
    readers = warehouse.ReadEngines()
    writer = warehouse.create_engine(url)
    warehouse.migrate(writer)
    with pytest.raises(warehouse.SnapshotMissing):
        readers.get(url)
    warehouse.publish_snapshot(writer)
    first, published = readers.get(url)
    warehouse.publish_snapshot(writer)  # nothing written since: marked current
    again, marked = readers.get(url)
    assert again is first and marked >= published

    pauses = "select count(*) from aftercare.milestone_pauses"
    with first.connect() as old:
        assert old.exec_driver_sql(pauses).scalar() == 0
        with writer.begin() as conn:
            insert(
                conn,
                "aftercare.milestone_pauses",
                [
                    {"milestone": "m", "paused_by": "ops"}
                    | {"paused_at": NOW, "comment": "why", "action_id": "x"}
                ],
            )
        warehouse.publish_snapshot(writer)
        newer, _ = readers.get(url)
        assert newer is not first
        with newer.connect() as conn:
            assert conn.exec_driver_sql(pauses).scalar() == 1
        assert old.exec_driver_sql(pauses).scalar() == 0  # the old file, read on
    writer.dispose()
    newer.dispose()
