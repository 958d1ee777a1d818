"""The analysts' marts, example queries and report on a hand-made ledger, engagement and
staging rows, each checked against hand-computed expectations, on DuckDB and on Postgres."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa

from aftercare import connections, marts, report, warehouse

D = date.fromisoformat


def at(text: str) -> datetime:
    """A UTC instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


# personal data the marts and the report must never carry
PII = {
    1: ("Zelda", "Quixote", "zelda.quixote@example.com", "+447700900101"),
    2: ("Yusuf", "Marlowe", "yusuf.marlowe@example.com", "+447700900102"),
    3: ("Xanthe", "Okonkwo", "xanthe.okonkwo@example.com", "+447700900103"),
    4: ("Wilhelmina", "Farquhar", "wilhelmina.farquhar@example.com", "+447700900104"),
    5: ("Valentin", "Sørensen", "valentin.sorensen@example.com", "+447700900105"),
    6: ("Ursula", "Pennywhistle", "ursula.pennywhistle@example.com", "+447700900106"),
}

# placement id -> (candidate id, recruiter owner_id, start date)
PLACEMENTS = {
    10: (1, 7, "2026-01-05"),
    20: (2, 7, "2026-01-05"),
    30: (3, 8, "2026-01-05"),
    40: (4, 8, "2026-01-05"),
    50: (5, 8, "2026-03-16"),  # the referred candidate 5, placed: referral rf1 converted
}

# touchpoint id -> (milestone, placement, candidate, channel, due date, status, reason, sent_at)
TOUCHPOINTS = {
    "t1": ("first_day", 10, 1, "email", "2026-01-05", "sent", None, "2026-01-05 08:00"),
    "t2": ("first_day", 20, 2, "email", "2026-01-05", "sent", None, "2026-01-05 08:05"),
    "t3": ("first_day", 40, 4, "email", "2026-01-05", "failed", "provider_error", None),
    "t4": ("first_day", 30, 3, None, "2026-01-05", "suppressed", "no_eligible_channel", None),
    "t5": ("first_day", 20, 2, "sms", "2026-01-05", "suppressed", "recently_sent", None),
    "t6": ("review_request", 10, 1, "sms", "2026-02-16", "sent", None, "2026-02-16 10:00"),
    "t7": ("review_request", 20, 2, "sms", "2026-02-16", "sent", None, "2026-02-16 10:00"),
    "t8": ("review_request", 30, 3, "sms", "2026-02-16", "expired", "missed_window", None),
    "t9": ("review_request", 40, 4, "sms", "2026-02-16", "planned", None, None),
    "t10": ("check_in_call", 30, 3, "phone", "2026-02-16", "sent", None, "2026-02-16 14:00"),
    "t11": ("referral_ask", 10, 1, "email", "2026-03-01", "sent", None, "2026-03-01 09:00"),
    "t12": ("referral_ask", 20, 2, "email", "2026-03-01", "sent", None, "2026-03-01 09:00"),
    "t13": ("birthday", None, 4, "email", "2026-03-01", "sent", None, "2026-03-01 07:00"),
}

# (event id, touchpoint, channel, event, at); e9 matches no touchpoint and counts nowhere
EVENTS = [
    ("e1", "t1", "email", "delivered", "2026-01-05 08:01"),
    ("e2", "t1", "email", "opened", "2026-01-05 09:00"),
    ("e3", "t1", "email", "opened", "2026-01-06 09:00"),
    ("e4", "t1", "email", "clicked", "2026-01-06 09:01"),
    ("e5", "t2", "email", "delivered", "2026-01-05 08:06"),
    ("e6", "t2", "email", "unsubscribed", "2026-01-07 10:00"),
    ("e7", "t3", "email", "bounced", "2026-01-05 08:02"),
    ("e8", "t6", "sms", "delivered", "2026-02-16 10:01"),
    ("e9", None, "sms", "delivered", "2026-02-16 10:01"),
    ("e10", "t7", "sms", "delivered", "2026-02-16 10:01"),
    ("e11", "t10", "phone", "completed", "2026-02-17 11:00"),
    ("e12", "t11", "email", "delivered", "2026-03-01 09:01"),
    ("e13", "t11", "email", "opened", "2026-03-02 09:01"),
    ("e14", "t12", "email", "opened", "2026-03-01 12:00"),
    ("e15", "t13", "email", "delivered", "2026-03-01 07:01"),
]

# (response id, candidate, kind, at, touchpoint, detail)
RESPONSES = [
    ("rv1", 1, "review", "2026-02-18 12:00", "t6", {"stars": 5, "review_id": "R1"}),
    ("rv2", 2, "review", "2026-03-01 09:00", "t7", {"stars": 4, "review_id": "R2"}),
    ("rv3", 4, "review", "2026-03-03 10:00", "t13", {"stars": 3, "review_id": "R3"}),
    ("rv4", 3, "review", "2026-03-20 10:00", None, {"stars": 2, "review_id": "R4"}),
    (
        "rf1",
        1,
        "referral",
        "2026-03-10 10:00",
        "t11",
        {"referred_candidate_id": 5, "converted": True, "placement_id": 50},
    ),
    (
        "rf2",
        2,
        "referral",
        "2026-03-05 10:00",
        "t12",
        {"referred_candidate_id": 6, "converted": False, "placement_id": None},
    ),
    ("rp1", 1, "reply", "2026-02-16 11:00", "t6", {"sentiment": "positive"}),
    ("rp2", 2, "reply", "2026-02-16 12:00", "t7", {"sentiment": "negative"}),
    ("oo1", 2, "opt_out", "2026-02-17 08:00", "t7", {"channel": "sms", "keyword": "STOP"}),
]


@pytest.fixture
def engine(warehouse_engine: sa.Engine) -> sa.Engine:
    warehouse.migrate(warehouse_engine)
    return warehouse_engine


def fill(engine: sa.Engine) -> None:
    """The hand-made staging, ledger and engagement rows above."""
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    candidates = [
        {
            "candidate_id": cid,
            "first_name": first,
            "last_name": last,
            "email": email,
            "mobile_e164": phone,
            "phone_e164": phone,
            "time_zone": "Europe/London",
            "date_last_modified": stamp,
        }
        for cid, (first, last, email, phone) in PII.items()
    ]
    placements = [
        {
            "placement_id": pid,
            "candidate_id": cid,
            "owner_id": owner,
            "job_title": "Welder",
            "client_name": "Acme Fabrication",
            "start_date": D(start),
            "date_last_modified": stamp,
        }
        for pid, (cid, owner, start) in PLACEMENTS.items()
    ]
    touchpoints = [
        {
            "touchpoint_id": tid,
            "milestone": milestone,
            "placement_id": pid,
            "candidate_id": cid,
            "channel": channel,
            "due_date": D(due),
            "status": status,
            "reason": reason,
            "sent_at": at(sent) if sent else None,
            "provider_message_id": f"msg-{tid}" if sent else None,
        }
        for tid, (milestone, pid, cid, channel, due, status, reason, sent) in TOUCHPOINTS.items()
    ]
    events = [
        {"event_id": eid, "touchpoint_id": tid, "channel": ch, "event": ev, "event_at": at(when)}
        for eid, tid, ch, ev, when in EVENTS
    ]
    responses = [
        {
            "response_id": rid,
            "candidate_id": cid,
            "kind": kind,
            "occurred_at": at(when),
            "touchpoint_id": tid,
            "detail": json.dumps(detail),
        }
        for rid, cid, kind, when, tid, detail in RESPONSES
    ]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into staging.candidates (candidate_id, first_name, last_name, email,"
                " mobile_e164, phone_e164, time_zone, date_last_modified, load_id) values"
                " (:candidate_id, :first_name, :last_name, :email, :mobile_e164, :phone_e164,"
                " :time_zone, :date_last_modified, 'test')"
            ),
            candidates,
        )
        conn.execute(
            sa.text(
                "insert into staging.placements (placement_id, candidate_id, owner_id,"
                " job_title, client_name, employment_class, status, is_active, start_date,"
                " date_last_modified, load_id) values (:placement_id, :candidate_id, :owner_id,"
                " :job_title, :client_name, 'permanent', 'Placed', true, :start_date,"
                " :date_last_modified, 'test')"
            ),
            placements,
        )
        conn.execute(
            sa.text(
                "insert into aftercare.touchpoints (touchpoint_id, milestone, placement_id,"
                " candidate_id, occurrence, channel, due_date, status, reason, sent_at,"
                " provider_message_id) values (:touchpoint_id, :milestone, :placement_id,"
                " :candidate_id, 1, :channel, :due_date, :status, :reason, :sent_at,"
                " :provider_message_id)"
            ),
            touchpoints,
        )
        conn.execute(
            sa.text(
                "insert into engagement.delivery_events (event_id, touchpoint_id, channel,"
                " provider_message_id, event, event_at) values (:event_id, :touchpoint_id,"
                " :channel, null, :event, :event_at)"
            ),
            events,
        )
        conn.execute(
            sa.text(
                "insert into engagement.responses (response_id, candidate_id, kind, occurred_at,"
                " touchpoint_id, detail) values (:response_id, :candidate_id, :kind,"
                " :occurred_at, :touchpoint_id, cast(:detail as json))"
            ),
            responses,
        )


@pytest.fixture
def filled(engine: sa.Engine) -> sa.Engine:
    fill(engine)
    marts.rebuild(engine)
    return engine


def rows(engine: sa.Engine, sql: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.text(sql)).mappings()]


def table(engine: sa.Engine, mart: str, order: str) -> list[dict]:
    return rows(engine, f"select * from marts.{mart} order by {order}")  # noqa: S608


# ------------------------------------------------------------------------------------------
# the marts against hand-computed expectations

FUNNEL_ZERO = dict.fromkeys(
    "touchpoints planned sent failed suppressed cancelled expired delivered undelivered"
    " opened_or_viewed clicked calls_done replied opted_out reviews review_stars referrals"
    " referrals_converted".split(),
    0,
)


def funnel_row(day: str, milestone: str, channel: str, **counts: int) -> dict:
    return {"day": D(day), "milestone": milestone, "channel": channel, **FUNNEL_ZERO, **counts}


def test_rebuild_counts_rows_per_mart(engine: sa.Engine) -> None:
    fill(engine)
    assert marts.rebuild(engine) == {
        "touchpoint_funnel": 7,
        "touchpoint_reasons": 4,
        "reviews": 4,
        "referrals": 2,
        "recruiter_scorecard": 6,
    }


def test_touchpoint_funnel(filled: sa.Engine) -> None:
    assert table(filled, "touchpoint_funnel", "day, milestone, channel") == [
        # t1, t2 sent and delivered (t1 opened twice, clicked; t2 unsubscribed); t3 failed,
        # bounced
        funnel_row(
            "2026-01-05", "first_day", "email", touchpoints=3, sent=2, failed=1, delivered=2,
            undelivered=1, opened_or_viewed=1, clicked=1, opted_out=1,
        ),
        funnel_row("2026-01-05", "first_day", "none", touchpoints=1, suppressed=1),
        funnel_row("2026-01-05", "first_day", "sms", touchpoints=1, suppressed=1),
        funnel_row("2026-02-16", "check_in_call", "phone", touchpoints=1, sent=1, calls_done=1),
        # t6, t7 sent, delivered, replied, reviewed (5 and 4 stars), t7 STOP; t8 expired;
        # t9 planned
        funnel_row(
            "2026-02-16", "review_request", "sms", touchpoints=4, planned=1, sent=2, expired=1,
            delivered=2, replied=2, opted_out=1, reviews=2, review_stars=9,
        ),
        funnel_row(
            "2026-03-01", "birthday", "email", touchpoints=1, sent=1, delivered=1, reviews=1,
            review_stars=3,
        ),
        # t11 delivered and opened, t12 opened without a delivery event; both referred
        funnel_row(
            "2026-03-01", "referral_ask", "email", touchpoints=2, sent=2, delivered=1,
            opened_or_viewed=2, referrals=2, referrals_converted=1,
        ),
    ]  # fmt: skip


def test_touchpoint_reasons(filled: sa.Engine) -> None:
    got = table(filled, "touchpoint_reasons", "day, milestone, channel, status, reason")
    assert [tuple(row.values()) for row in got] == [
        (D("2026-01-05"), "first_day", "email", "failed", "provider_error", 1),
        (D("2026-01-05"), "first_day", "none", "suppressed", "no_eligible_channel", 1),
        (D("2026-01-05"), "first_day", "sms", "suppressed", "recently_sent", 1),
        (D("2026-02-16"), "review_request", "sms", "expired", "missed_window", 1),
    ]


def test_reviews_attributed_by_touchpoint(filled: sa.Engine) -> None:
    got = table(filled, "reviews", "response_id")
    picked = [
        (
            r["response_id"], r["review_id"], r["candidate_id"], r["placement_id"],
            r["placement_source"], r["recruiter_id"], r["touchpoint_id"], r["milestone"],
            r["channel"], r["stars"], r["reviewed_on"], r["days_to_review"],
        )
        for r in got
    ]  # fmt: skip
    assert picked == [
        ("rv1", "R1", 1, 10, "touchpoint", 7, "t6", "review_request", "sms", 5,
         D("2026-02-18"), 2),
        ("rv2", "R2", 2, 20, "touchpoint", 7, "t7", "review_request", "sms", 4,
         D("2026-03-01"), 12),
        # a birthday has no placement: the candidate's latest placement's recruiter
        ("rv3", "R3", 4, 40, "latest_placement", 8, "t13", "birthday", "email", 3,
         D("2026-03-03"), 2),
        # not attributed to a touchpoint
        ("rv4", "R4", 3, 30, "latest_placement", 8, None, None, None, 2, D("2026-03-20"),
         None),
    ]  # fmt: skip


def test_referrals_converted(filled: sa.Engine) -> None:
    got = table(filled, "referrals", "response_id")
    picked = [
        (
            r["response_id"], r["referrer_candidate_id"], r["referred_candidate_id"],
            r["placement_id"], r["recruiter_id"], r["touchpoint_id"], r["milestone"],
            r["channel"], r["referred_on"], r["converted"], r["converted_placement_id"],
        )
        for r in got
    ]  # fmt: skip
    assert picked == [
        ("rf1", 1, 5, 10, 7, "t11", "referral_ask", "email", D("2026-03-10"), True, 50),
        ("rf2", 2, 6, 20, 7, "t12", "referral_ask", "email", D("2026-03-05"), False, None),
    ]


def test_recruiter_scorecard(filled: sa.Engine) -> None:
    got = table(filled, "recruiter_scorecard", "recruiter_id, month")
    columns = (
        "recruiter_id month placements_under_aftercare placements_reached touchpoints_sent"
        " call_tasks_done reviews review_stars average_stars referrals referrals_converted"
    ).split()
    assert [tuple(r[c] for c in columns) for r in got] == [
        # recruiter 7: placements 10 and 20
        (7, D("2026-01-01"), 2, 2, 2, 0, 0, 0, None, 0, 0),
        (7, D("2026-02-01"), 2, 2, 2, 0, 1, 5, Decimal("5.00"), 0, 0),
        (7, D("2026-03-01"), 2, 2, 2, 0, 1, 4, Decimal("4.00"), 2, 1),
        # recruiter 8: placements 30 and 40 (t3 failed, t4 suppressed: still under aftercare)
        (8, D("2026-01-01"), 2, 0, 0, 0, 0, 0, None, 0, 0),
        (8, D("2026-02-01"), 2, 1, 1, 1, 0, 0, None, 0, 0),
        # the birthday of candidate 4 counts for placement 40; rv4 unattributed, same recruiter
        (8, D("2026-03-01"), 1, 1, 1, 0, 2, 5, Decimal("2.50"), 0, 0),
    ]


def test_funnel_reconciles_with_the_ledger(filled: sa.Engine) -> None:
    """Per milestone and channel, every status column of the funnel equals the ledger's count
    of touchpoints in that status, and the reasons mart adds up to the funnel's columns."""
    ledger = rows(
        filled,
        "select milestone, coalesce(channel, 'none') as channel, status, count(*) as n"
        " from aftercare.touchpoints group by 1, 2, 3",
    )
    funnel = rows(
        filled,
        "select milestone, channel, sum(planned) as planned, sum(sent) as sent,"
        " sum(failed) as failed, sum(suppressed) as suppressed, sum(cancelled) as cancelled,"
        " sum(expired) as expired, sum(touchpoints) as touchpoints"
        " from marts.touchpoint_funnel group by 1, 2",
    )
    reasons = rows(
        filled,
        "select milestone, channel, status, sum(touchpoints) as n"
        " from marts.touchpoint_reasons group by 1, 2, 3",
    )
    expected = {(r["milestone"], r["channel"], r["status"]): r["n"] for r in ledger}
    statuses = ("planned", "sent", "failed", "suppressed", "cancelled", "expired")
    got = {
        (f["milestone"], f["channel"], status): f[status]
        for f in funnel
        for status in statuses
        if f[status]
    }
    assert got == expected
    assert sum(f["touchpoints"] for f in funnel) == len(TOUCHPOINTS)
    assert {(r["milestone"], r["channel"], r["status"]): r["n"] for r in reasons} == {
        key: n for key, n in expected.items() if key[2] not in ("planned", "sent")
    }


def test_rebuild_is_idempotent_and_picks_up_late_events(filled: sa.Engine) -> None:
    before = {mart: table(filled, mart, "1, 2, 3") for mart in marts.MARTS}
    marts.rebuild(filled)
    assert {mart: table(filled, mart, "1, 2, 3") for mart in marts.MARTS} == before

    # a late delivery receipt for t12 moves the funnel row of t12's due day
    delivered = "select delivered from marts.touchpoint_funnel where milestone = 'referral_ask'"
    assert rows(filled, delivered) == [{"delivered": 1}]
    with filled.begin() as conn:
        conn.execute(
            sa.text(
                "insert into engagement.delivery_events (event_id, touchpoint_id, channel,"
                " event, event_at) values ('late', 't12', 'email', 'delivered', :at)"
            ),
            {"at": at("2026-03-09 09:00")},
        )
    marts.rebuild(filled)
    assert rows(filled, delivered) == [{"delivered": 2}]


def test_marts_of_an_empty_warehouse(engine: sa.Engine) -> None:
    assert marts.rebuild(engine) == dict.fromkeys(marts.MARTS, 0)


# ------------------------------------------------------------------------------------------
# the analysts' example queries (sql/examples/), as documented in docs/data-dictionary.md

EXAMPLES = {
    "review_rate_by_milestone_channel": [
        ("birthday", "email", 1, 1, Decimal("100.0")),
        ("check_in_call", "phone", 1, 0, Decimal("0.0")),
        ("first_day", "email", 2, 0, Decimal("0.0")),
        ("referral_ask", "email", 2, 0, Decimal("0.0")),
        ("review_request", "sms", 2, 2, Decimal("100.0")),
    ],
    "delivery_rate_by_channel": [
        ("email", 5, 4, 1, Decimal("80.0")),
        ("sms", 2, 2, 0, Decimal("100.0")),
    ],
    "top_recruiters_by_referrals": [(7, 2, 1, 2, Decimal("4.50")), (8, 0, 0, 2, Decimal("2.50"))],
    "stars_by_milestone": [
        ("birthday", 1, Decimal("3.00"), 2.0),
        ("review_request", 2, Decimal("4.50"), 7.0),
        ("unattributed", 1, Decimal("2.00"), None),
    ],
    "suppressions_by_reason": [("no_eligible_channel", 1), ("recently_sent", 1)],
    "referral_conversion_by_month": [(D("2026-03-01"), 2, 1, Decimal("50.0"))],
}


def test_every_example_is_tested() -> None:
    shipped = {path.stem for path in (warehouse.SQL_DIR / "examples").glob("*.sql")}
    assert shipped == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_query(filled: sa.Engine, name: str) -> None:
    """Each example runs as it is, pasted into a SQL shell: no template, no bound parameters."""
    text = (warehouse.SQL_DIR / "examples" / f"{name}.sql").read_text()
    with filled.connect() as conn:
        got = conn.exec_driver_sql(text).all()
    assert [tuple(row) for row in got] == EXAMPLES[name]


# ------------------------------------------------------------------------------------------
# the static HTML report

CHARTS = ("funnel", "delivery", "reviews", "referrals", "reasons")


#: A script that lists the chart texts drawn (partly) outside their chart's box, as
#: ``data-outside`` on the body.
MEASURE_TEXTS = """<script>
const outside = [];
for (const svg of document.querySelectorAll("figure svg")) {
  const box = svg.getBoundingClientRect();
  for (const text of svg.querySelectorAll("text")) {
    const drawn = text.getBoundingClientRect();
    if (drawn.width && (drawn.left < box.left - 0.5 || drawn.right > box.right + 0.5)) {
      outside.push(text.textContent);
    }
  }
}
document.body.setAttribute("data-outside", JSON.stringify(outside));
</script>"""


def figures(html: str) -> dict[str, str]:
    """chart id -> the markup of its figure."""
    found = {}
    for chart in CHARTS:
        start = html.index(f'<figure id="chart-{chart}"')
        found[chart] = html[start : html.index("</figure>", start)]
    return found


def test_report_of_an_empty_warehouse(engine: sa.Engine, tmp_path: Path) -> None:
    marts.rebuild(engine)
    html = report.build(engine, tmp_path / "out" / "report.html").read_text()
    assert all(
        "No data yet." in figure and "<svg" not in figure for figure in figures(html).values()
    )
    assert '<span class="value" data-key="sent">0</span>' in html


def test_the_reasons_chart_leaves_out_what_expired_before_go_live(filled: sa.Engine) -> None:
    """t8 expired due 16 February: a closing like any other while no night was planned before
    it, the go-live backlog once the first planned night is later."""
    with filled.begin() as conn:
        before = warehouse.query_file(conn, "report/reasons.sql")
        conn.exec_driver_sql("insert into aftercare.plan_runs (plan_date) values ('2026-02-17')")
        after = warehouse.query_file(conn, "report/reasons.sql")
    expired = {"status": "expired", "reason": "missed_window", "touchpoints": 1}
    assert expired in before
    assert after == [row for row in before if row != expired]


def test_report_of_a_filled_warehouse(filled: sa.Engine, tmp_path: Path) -> None:
    counts = {"<b>reviews</b>": 4}
    html = report.build(filled, tmp_path / "report.html", run_counts=counts).read_text()
    for chart, figure in figures(html).items():
        assert figure.count("<svg") == 1, chart
    assert '<span class="value" data-key="sent">8</span>' in html
    # reviews and referrals as their charts count them: every one, rv4 (no touchpoint) too
    with filled.connect() as conn:
        reviews, referrals, converted = conn.exec_driver_sql(
            "select (select count(*) from marts.reviews), (select count(*) from marts.referrals),"
            " (select count(*) from marts.referrals where converted)"
        ).one()
    assert (reviews, referrals, converted) == (4, 2, 1)
    assert '<span class="value" data-key="reviews">4</span>' in html
    assert '<span class="value" data-key="referrals">2</span>' in html
    assert '<span class="value" data-key="referrals_converted">1</span>' in html
    # and the period they cover
    assert "Touchpoints due from 2026-" in html and "As of " in html
    # what the charts show: milestones, channels, reasons, the month of the referrals
    for text in ("review_request", "referral_ask", "no_eligible_channel", "2026-03-01"):
        assert text in html
    # one colour per channel, the same in every chart (the funnel's and the delivery rates')
    colours: dict[str, set[str]] = {}
    for channel, colour in re.findall(
        r'aria-label="[^"]*channel: (\w+)[^"]*"[^>]*fill="([^"]+)"', html
    ):
        colours.setdefault(channel, set()).add(colour)
    assert {"email", "sms", "phone"} <= set(colours), colours
    assert all(len(used) == 1 for used in colours.values()), colours
    assert len({min(used) for used in colours.values()}) == len(colours)
    # values are escaped; nothing is fetched or run
    assert "&lt;b&gt;reviews&lt;/b&gt;" in html and "<b>reviews</b>" not in html
    for needle in ("<script", "<link", " src=", "url(http", "@import"):
        assert needle not in html
    # no personal data of the test candidates
    for personal in PII.values():
        for value in personal:
            assert value not in html


def test_report_opens_in_a_browser_without_console_errors(
    duckdb_warehouse: Path, tmp_path: Path
) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed here (.ci/run installs Debian's chromium)")
    engine = connections.warehouse_engine()
    try:
        warehouse.migrate(engine)
        fill(engine)
        marts.rebuild(engine)
        path = report.build(engine, tmp_path / "report.html")
    finally:
        engine.dispose()

    def open_page(page: Path) -> tuple[str, list[str]]:
        result = subprocess.run(
            [
                browser, "--headless=new", "--no-sandbox", "--disable-gpu",
                f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
                "--dump-dom", page.as_uri(),
            ],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]

    # the check sees a console message when there is one
    noisy = tmp_path / "noisy.html"
    noisy.write_text("<!doctype html><script>console.error('broken')</script>")
    assert any("broken" in line for line in open_page(noisy)[1])

    dom, console = open_page(path)
    assert console == []
    assert all(figure.count("<svg") == 1 for figure in figures(dom).values())
    assert "Aftercare report" in dom

    # every text of every chart (axis labels, legends) lies within its chart as the browser
    # draws it, in its own fonts (a copy of the report, which runs nothing, measures itself)
    measured = tmp_path / "measured.html"
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", path.read_text())
    measured.write_text(page.replace("</body>", MEASURE_TEXTS + "</body>"))
    dom, console = open_page(measured)
    assert console == []
    [outside] = re.findall(r'data-outside="([^"]*)"', dom)
    assert json.loads(unescape(outside)) == []
