"""The plan stage on hand-made placements and candidates, each rule with a hand-checked
expectation, on DuckDB and on Postgres."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
import sqlalchemy as sa

from aftercare import SQL_DIR, connections, plan, warehouse
from aftercare.config import Config, Milestone, load_config

CANDIDATE = {
    "email": "c@example.com",
    "email_opt_out": False,
    "mobile_e164": "+447700900123",
    "phone_e164": None,
    "sms_opt_in": True,
    "date_of_birth": None,
    "time_zone": "Europe/London",
    "is_anonymized": False,
    "is_deleted": False,
}
PLACEMENT = {
    "owner_id": 7,
    "employment_class": "permanent",
    "status": "Placed",
    "is_active": True,
    "end_date": None,
    "is_deleted": False,
}


@pytest.fixture
def engine(warehouse_engine: sa.Engine) -> sa.Engine:
    warehouse.migrate(warehouse_engine)
    return warehouse_engine


def only(*names: str, **planning: object) -> Config:
    """The test config with just these milestones (and planning settings changed)."""
    config = load_config()
    kept = {name: config.planning.milestones[name] for name in names}
    priority = [name for name in config.planning.priority if name in kept]
    update = {"milestones": kept, "priority": priority or [names[0]], **planning}
    return config.model_copy(update={"planning": config.planning.model_copy(update=update)})


def candidate(engine: sa.Engine, candidate_id: int, **fields: object) -> None:
    row = {**CANDIDATE, **fields, "candidate_id": candidate_id}
    upsert(engine, "candidates", "candidate_id", row)


def placement(engine: sa.Engine, placement_id: int, candidate_id: int, **fields: object) -> None:
    row = {**PLACEMENT, **fields, "placement_id": placement_id, "candidate_id": candidate_id}
    upsert(engine, "placements", "placement_id", row)


def upsert(engine: sa.Engine, table: str, key: str, row: dict) -> None:
    row = {"date_last_modified": datetime(2026, 1, 1, tzinfo=UTC), **row, "load_id": "test"}
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    with engine.begin() as conn:
        conn.execute(sa.text(f"delete from staging.{table} where {key} = :{key}"), row)  # noqa: S608
        conn.execute(sa.text(f"insert into staging.{table} ({columns}) values ({values})"), row)  # noqa: S608


def suppress(engine: sa.Engine, candidate_id: int, channel: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into aftercare.suppressions (candidate_id, channel, reason, source)"
                " values (:c, :ch, 'opt_out', 'test')"
            ),
            {"c": candidate_id, "ch": channel},
        )


def quarantine(engine: sa.Engine, entity: str, record_id: int) -> None:
    """A newer version of the record failed the gate."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into quality.quarantine (entity, record_id, load_id, reasons)"
                " values (:entity, :record_id, 'l2', :reasons)"
            ).bindparams(sa.bindparam("reasons", type_=sa.JSON)),
            {"entity": entity, "record_id": str(record_id), "reasons": []},
        )


def mark_sent(engine: sa.Engine, touchpoint_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "update aftercare.touchpoints set status = 'sent', sent_at = send_at"
                " where touchpoint_id = :t"
            ),
            {"t": touchpoint_id},
        )


def ledger(engine: sa.Engine) -> dict[str, tuple]:
    """touchpoint id -> (status, reason, channel, due date, UTC send_at 'YYYY-MM-DD HH:MM')."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select touchpoint_id, status, reason, channel, due_date, send_at"
                " from aftercare.touchpoints"
            )
        ).all()
    return {
        row[0]: (
            row[1],
            row[2],
            row[3],
            row[4],
            row[5].astimezone(UTC).strftime("%Y-%m-%d %H:%M") if row[5] else None,
        )
        for row in rows
    }


def run(engine: sa.Engine, config: Config, day: str, **options: bool) -> dict[str, tuple]:
    plan.plan(engine, config, date.fromisoformat(day), **options)
    return ledger(engine)


D = date.fromisoformat


# ------------------------------------------------------------------------------------------
# due dates, windows, time zones


@pytest.mark.parametrize(
    ("zone", "send_at"),
    [
        ("Europe/London", "2026-11-30 08:00"),  # GMT in winter
        ("America/Los_Angeles", "2026-11-30 16:00"),  # PST: 08:00 is 16:00 UTC
        ("Pacific/Auckland", "2026-11-29 19:00"),  # NZDT: 08:00 local is the day before in UTC
        (None, "2026-11-30 08:00"),  # no zone of their own: the agency's
    ],
)
def test_first_day_goes_out_at_eight_local(
    engine: sa.Engine, zone: str | None, send_at: str
) -> None:
    candidate(engine, 1, time_zone=zone)
    placement(engine, 10, 1, start_date=D("2026-11-30"))

    assert run(engine, only("first_day"), "2026-11-30") == {
        "first_day:placement:10:1": ("planned", None, "sms", D("2026-11-30"), send_at)
    }


def test_send_times_follow_daylight_saving(engine: sa.Engine) -> None:
    # London: GMT until Sunday 29 March 2026, BST after
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-03-27"))
    placement(engine, 11, 1, start_date=D("2026-03-30"))
    config = only("first_day")

    assert run(engine, config, "2026-03-27")["first_day:placement:10:1"][4] == "2026-03-27 08:00"
    assert run(engine, config, "2026-03-30")["first_day:placement:11:1"][4] == "2026-03-30 07:00"


def test_weekend_due_date_moves_to_monday_and_the_window_counts_from_there(
    engine: sa.Engine,
) -> None:
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-10-24"))  # + 35 days = Saturday 28 November
    config = only("check_in")

    assert run(engine, config, "2026-11-28") == {}
    assert run(engine, config, "2026-11-30") == {
        "check_in:placement:10:1": ("planned", None, "email", D("2026-11-30"), "2026-11-30 10:00")
    }
    with engine.connect() as conn:
        window_end = conn.execute(sa.text("select window_end from aftercare.touchpoints")).scalar()
    assert window_end == D("2026-12-07")


def test_a_late_run_plans_inside_the_window_and_expires_after_it(engine: sa.Engine) -> None:
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-10-26"))  # check-in due Monday 30 November
    placement(engine, 11, 1, start_date=D("2026-10-05"))  # due Monday 9 November: long missed
    config = only("check_in")

    # the first run after an outage: 10 is still in its window (to 7 December), 11 was missed
    # 24 days ago, beyond the 14-day look-back: not written at all
    assert run(engine, config, "2026-12-03") == {
        "check_in:placement:10:1": ("planned", None, "email", D("2026-11-30"), "2026-12-03 10:00")
    }
    # nothing sent by the 8th: the window closed
    assert run(engine, config, "2026-12-08")["check_in:placement:10:1"][:2] == (
        "expired",
        "missed_window",
    )


def test_an_outage_is_written_as_expired_within_the_look_back(engine: sa.Engine) -> None:
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-11-20"))

    assert run(engine, only("first_day"), "2026-11-30") == {
        "first_day:placement:10:1": ("expired", "missed_window", "sms", D("2026-11-20"), None)
    }


def test_leap_day_anniversaries_and_birthdays_fall_on_28_february(engine: sa.Engine) -> None:
    candidate(engine, 1, date_of_birth=D("2000-02-29"))
    placement(engine, 11, 1, start_date=D("2024-06-03"))
    candidate(engine, 2)
    placement(engine, 10, 2, start_date=D("2024-02-29"))
    config = only("work_anniversary", "birthday")

    common = run(engine, config, "2025-02-28")
    assert common["work_anniversary:placement:10:1"][:4] == (
        "planned",
        None,
        "video",
        D("2025-02-28"),
    )
    assert common["birthday:candidate:1:2025"][3] == D("2025-02-28")
    leap = run(engine, config, "2028-02-29")
    assert leap["work_anniversary:placement:10:4"][3] == D("2028-02-29")
    assert leap["birthday:candidate:1:2028"][3] == D("2028-02-29")


def test_no_anniversary_on_the_start_date_itself(engine: sa.Engine) -> None:
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-11-30"))

    assert run(engine, only("work_anniversary"), "2026-11-30") == {}


def test_birthday_needs_a_placement_active_or_ended_within_730_days(engine: sa.Engine) -> None:
    config = only("birthday")
    candidate(engine, 1, date_of_birth=D("1990-12-01"))
    placement(engine, 10, 1, start_date=D("2020-01-06"), end_date=D("2024-11-01"))
    candidate(engine, 2, date_of_birth=D("1990-12-01"))
    placement(engine, 20, 2, start_date=D("2020-01-06"), end_date=D("2025-06-30"))

    assert set(run(engine, config, "2026-12-01")) == {"birthday:candidate:2:2026"}


def test_a_terminated_placement_ended_when_the_ats_last_changed_it_whatever_its_type(
    engine: sa.Engine,
) -> None:
    """Birthdays on 1 December 2026 (730 days back: 1 December 2024). A terminated placement
    ended on its end date once that has passed, else on its last change in the ATS; one that
    ended before it began never counts."""
    config = only("birthday")
    contract = {"employment_class": "contract"}
    # candidate: (start, end, extra fields, the day the ATS last changed the placement)
    cases = {
        # permanent, no end date, terminated last month: counts
        3: ("2020-01-06", None, {}, "2026-11-01"),
        # a contract terminated in 2023 whose end date was never brought forward: does not count
        4: ("2022-01-03", "2027-06-30", contract, "2023-01-02"),
        # permanent, terminated in 2023: does not count
        5: ("2020-01-06", None, {}, "2023-01-02"),
        # a contract terminated before its start: never began, never counts
        6: ("2026-06-01", "2027-03-01", contract, "2026-05-01"),
    }
    for candidate_id, (start, end, fields, changed) in cases.items():
        candidate(engine, candidate_id, date_of_birth=D("1990-12-01"))
        placement(
            engine,
            10 * candidate_id,
            candidate_id,
            start_date=D(start),
            end_date=D(end) if end else None,
            status="Terminated",
            is_active=False,
            date_last_modified=datetime.fromisoformat(f"{changed}T12:00:00+00:00"),
            **fields,
        )

    assert set(run(engine, config, "2026-12-01")) == {"birthday:candidate:3:2026"}


# ------------------------------------------------------------------------------------------
# conditions of single milestones


def test_availability_check_for_temps_before_the_end_and_not_when_placed_again(
    engine: sa.Engine,
) -> None:
    config = only("availability_check")
    candidate(engine, 1)
    placement(
        engine, 10, 1, employment_class="temp", start_date=D("2026-06-01"), end_date=D("2027-01-29")
    )
    candidate(engine, 2)
    placement(
        engine,
        20,
        2,
        employment_class="contract",
        start_date=D("2026-06-01"),
        end_date=D("2027-01-29"),
    )
    placement(engine, 21, 2, employment_class="temp", start_date=D("2027-02-05"))  # 7 days on
    candidate(engine, 3)
    placement(engine, 30, 3, start_date=D("2026-06-01"), end_date=D("2027-01-29"))  # permanent
    candidate(engine, 4)  # the next job began 9 days before this one ends: no check
    placement(
        engine, 40, 4, employment_class="temp", start_date=D("2026-06-01"), end_date=D("2027-01-29")
    )
    placement(engine, 41, 4, start_date=D("2027-01-20"))
    candidate(engine, 5)  # another job 20 days before the end: not within 14 days
    placement(
        engine, 50, 5, employment_class="temp", start_date=D("2026-06-01"), end_date=D("2027-01-29")
    )
    placement(engine, 51, 5, start_date=D("2027-01-09"))

    decided = run(engine, config, "2027-01-15")  # Friday, 14 days before the end
    assert decided == {
        "availability_check:placement:10:1": (
            "planned",
            None,
            "sms",
            D("2027-01-15"),
            "2027-01-15 10:00",
        ),
        "availability_check:placement:20:1": (
            "cancelled",
            "next_placement",
            None,
            D("2027-01-15"),
            None,
        ),
        "availability_check:placement:40:1": (
            "cancelled",
            "next_placement",
            None,
            D("2027-01-15"),
            None,
        ),
        "availability_check:placement:50:1": (
            "planned",
            None,
            "sms",
            D("2027-01-15"),
            "2027-01-15 10:00",
        ),
    }


def test_review_request_not_twice_a_year_and_not_after_a_negative_reply(
    engine: sa.Engine,
) -> None:
    config = only("review_request")
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-01-05"))  # + 56 = Monday 2 March
    placement(engine, 11, 1, start_date=D("2026-09-07"))  # + 56 = Monday 2 November
    candidate(engine, 2)
    placement(engine, 20, 2, start_date=D("2026-09-07"))
    run(engine, config, "2026-03-02")
    mark_sent(engine, "review_request:placement:10:1")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into aftercare.touchpoints (touchpoint_id, milestone, placement_id,"
                " candidate_id, occurrence, due_date, status) values"
                " ('check_in:placement:20:1', 'check_in', 20, 2, 1, '2026-10-12', 'sent')"
            )
        )
        conn.execute(
            sa.text(
                "insert into engagement.responses (response_id, candidate_id, kind, occurred_at,"
                " touchpoint_id, detail) values ('r1', 2, 'reply', '2026-10-13T09:00:00Z',"
                " 'check_in:placement:20:1', :detail)"
            ).bindparams(sa.bindparam("detail", type_=sa.JSON)),
            {"detail": {"sentiment": "negative"}},
        )

    decided = run(engine, config, "2026-11-02")
    assert decided["review_request:placement:11:1"][:2] == ("suppressed", "recently_sent")
    assert decided["review_request:placement:20:1"][:2] == ("suppressed", "negative_reply")


# ------------------------------------------------------------------------------------------
# channels and consent


def test_channel_is_the_first_eligible_one(engine: sa.Engine) -> None:
    config = only("first_day", "check_in_call")
    candidate(engine, 1, sms_opt_in=False)  # no sms consent: email
    placement(engine, 10, 1, start_date=D("2026-11-30"))
    candidate(engine, 2, email=None, mobile_e164=None, phone_e164=None)  # nothing
    placement(engine, 20, 2, start_date=D("2026-11-30"))
    candidate(engine, 3, is_anonymized=True)
    placement(engine, 30, 3, start_date=D("2026-11-30"))
    candidate(engine, 4)
    suppress(engine, 4, "all")  # all: not even a recruiter call
    placement(engine, 40, 4, start_date=D("2026-11-30"))
    candidate(engine, 5, email_opt_out=True, sms_opt_in=False, phone_e164="+442079460000")
    placement(engine, 50, 5, start_date=D("2026-11-30"), owner_id=None)

    decided = {tp: row[:3] for tp, row in run(engine, config, "2026-11-30").items()}
    assert {tp: row for tp, row in decided.items() if tp.startswith("first_day")} == {
        "first_day:placement:10:1": ("planned", None, "email"),
        "first_day:placement:20:1": ("suppressed", "no_eligible_channel", None),
        "first_day:placement:30:1": ("suppressed", "candidate_removed", None),
        "first_day:placement:40:1": ("suppressed", "no_eligible_channel", None),
        "first_day:placement:50:1": ("suppressed", "no_eligible_channel", None),
    }


def test_video_goes_by_email_or_sms_and_phone_needs_owner_and_number(engine: sa.Engine) -> None:
    config = only("referral_ask", "check_in_call")
    candidate(engine, 1, email=None)  # video by sms still counts as video
    placement(engine, 10, 1, start_date=D("2026-08-31"))  # + 35 = Mon 5 Oct; + 90 = Sun 29 Nov
    candidate(engine, 2, email=None, mobile_e164=None, phone_e164="+442079460000")
    placement(engine, 20, 2, start_date=D("2026-08-31"), owner_id=None)

    at_call = run(engine, config, "2026-10-05")
    assert at_call["check_in_call:placement:10:1"][:3] == ("planned", None, "phone")
    assert at_call["check_in_call:placement:20:1"][:3] == (
        "suppressed",
        "no_eligible_channel",
        None,
    )
    at_referral = run(engine, config, "2026-11-30")  # Sunday's due date moved to Monday
    assert at_referral["referral_ask:placement:10:1"][:4] == (
        "planned",
        None,
        "video",
        D("2026-11-30"),
    )


# ------------------------------------------------------------------------------------------
# the frequency cap


def test_cap_keeps_by_priority_and_moves_the_rest_to_the_next_day_their_window_allows(
    engine: sa.Engine,
) -> None:
    config = only("first_day", "check_in", "check_in_call", "birthday")
    candidate(engine, 1, date_of_birth=D("1990-11-30"))
    placement(engine, 10, 1, start_date=D("2026-11-30"))  # first day
    placement(engine, 11, 1, start_date=D("2026-10-26"))  # check-in (and its call) due today

    day1 = run(engine, config, "2026-11-30")
    assert day1["first_day:placement:10:1"][:2] == ("planned", None)
    assert day1["check_in:placement:11:1"][4] == "2026-12-01 10:00"  # moved to tomorrow
    assert day1["birthday:candidate:1:2026"][:2] == ("suppressed", "frequency_cap")  # no window
    assert day1["check_in_call:placement:11:1"][4] == "2026-11-30 10:00"  # exempt
    mark_sent(engine, "first_day:placement:10:1")

    day2 = run(engine, config, "2026-12-01")
    assert day2["check_in:placement:11:1"][:2] == ("planned", None)
    assert day2["check_in:placement:11:1"][4] == "2026-12-01 10:00"


def test_cap_of_three_in_seven_days(engine: sa.Engine) -> None:
    config = only("first_day")
    candidate(engine, 1)
    for placement_id, day in ((10, "2026-11-24"), (11, "2026-11-26"), (12, "2026-11-28")):
        placement(engine, placement_id, 1, start_date=D(day))
        run(engine, config, day)
        mark_sent(engine, f"first_day:placement:{placement_id}:1")
    placement(engine, 13, 1, start_date=D("2026-11-30"))
    placement(engine, 14, 1, start_date=D("2026-12-01"))

    assert run(engine, config, "2026-11-30")["first_day:placement:13:1"][:2] == (
        "suppressed",
        "frequency_cap",
    )
    # 24 November left the seven days: room again
    assert run(engine, config, "2026-12-01")["first_day:placement:14:1"][:2] == ("planned", None)


# ------------------------------------------------------------------------------------------
# the ledger's life


def test_a_moved_start_date_replans_or_cancels(engine: sa.Engine) -> None:
    config = only("check_in")
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-10-26"))  # due Mon 30 November
    placement(engine, 11, 1, start_date=D("2026-10-26"))
    run(engine, config, "2026-11-30")

    placement(engine, 10, 1, start_date=D("2026-11-09"))  # due Mon 14 December now
    placement(engine, 11, 1, start_date=D("2026-09-28"))  # due 2 November: out of reach
    decided = run(engine, config, "2026-12-01")
    assert decided["check_in:placement:10:1"] == (
        "planned",
        None,
        "email",
        D("2026-12-14"),
        "2026-12-14 10:00",
    )
    assert decided["check_in:placement:11:1"][:2] == ("cancelled", "placement_changed")


def test_termination_and_opt_out_after_planning(engine: sa.Engine) -> None:
    config = only("check_in")
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-10-26"))
    candidate(engine, 2, email=None)
    placement(engine, 20, 2, start_date=D("2026-10-26"))
    candidate(engine, 3)
    placement(engine, 30, 3, start_date=D("2026-10-26"))
    assert {row[2] for row in run(engine, config, "2026-11-30").values()} == {"email", "sms"}

    placement(engine, 10, 1, start_date=D("2026-10-26"), status="Terminated", is_active=False)
    suppress(engine, 2, "sms")  # STOP: sms was their only channel
    suppress(engine, 3, "email")  # unsubscribed from email: sms instead
    decided = run(engine, config, "2026-12-01")
    assert decided["check_in:placement:10:1"][:3] == ("cancelled", "placement_ended", None)
    assert decided["check_in:placement:20:1"][:2] == ("suppressed", "no_eligible_channel")
    assert decided["check_in:placement:30:1"][:3] == ("planned", None, "sms")


def test_sent_rows_never_change(engine: sa.Engine) -> None:
    config = only("check_in")
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-10-26"))
    sent = run(engine, config, "2026-11-30")
    mark_sent(engine, "check_in:placement:10:1")
    placement(engine, 10, 1, start_date=D("2026-10-26"), status="Terminated", is_active=False)

    assert run(engine, config, "2026-12-01")["check_in:placement:10:1"][0] == "sent"
    assert ledger(engine)["check_in:placement:10:1"][3:] == sent["check_in:placement:10:1"][3:]


def test_planning_twice_or_a_backfill_writes_the_same_ledger(engine: sa.Engine) -> None:
    config = load_config()
    candidate(engine, 1, date_of_birth=D("1990-12-01"))
    placement(engine, 10, 1, start_date=D("2026-10-26"))
    placement(engine, 11, 1, start_date=D("2026-11-30"))
    placement(
        engine, 12, 1, start_date=D("2026-12-01"), employment_class="temp", end_date=D("2026-12-20")
    )
    candidate(engine, 2, sms_opt_in=False)
    placement(engine, 20, 2, start_date=D("2025-12-01"))

    once = run(engine, config, "2026-12-01")
    assert run(engine, config, "2026-12-01") == once
    assert run(engine, config, "2026-11-30") == once  # a backfill of the day before
    assert once  # (the ledger is not trivially empty)


def test_preview_writes_nothing(engine: sa.Engine) -> None:
    config = only("first_day", "check_in")
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-11-30"))
    placement(engine, 11, 1, start_date=D("2026-10-27"))  # check-in due Tue 1 December

    rows = plan.preview(engine, config, D("2026-11-30"), days=3)
    assert ledger(engine) == {}
    planned = {(row["day"], row["milestone"]) for row in rows if row["status"] == "planned"}
    # day 1 sends the first-day message, so the check-in waits for day 2
    assert planned == {(D("2026-11-30"), "first_day"), (D("2026-12-01"), "check_in")}


def test_the_nightly_preview_param_prints_and_writes_nothing(
    duckdb_warehouse: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    from aftercare.tasks import nightly

    engine = connections.warehouse_engine()
    warehouse.migrate(engine)
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-12-01"))
    night = datetime(2026, 11, 30, 2, tzinfo=UTC)

    with pytest.raises(AirflowSkipException, match="writes nothing"):
        nightly.plan(as_of=night, full_refresh=False, preview_days=3)
    printed = capsys.readouterr().out
    assert "2026-12-01  first_day" in printed and "planned" in printed
    assert ledger(engine) == {}
    counts = nightly.plan(as_of=night, full_refresh=False, preview_days=0)
    assert counts == {} and ledger(engine) == {}  # nothing due on the 30th itself
    engine.dispose()


def test_a_new_milestone_needs_only_config(engine: sa.Engine) -> None:
    config = load_config()
    six_months = Milestone(
        anchor="start_date",
        offset_days=182,
        window_days=7,
        send_time=time(10),
        channels=["email", "sms"],
        weekdays_only=True,
    )
    planning = config.planning.model_copy(
        update={
            "milestones": {"six_month_check_in": six_months},
            "priority": ["six_month_check_in"],
        }
    )
    config = config.model_copy(update={"planning": planning})
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-06-01"))  # + 182 = Monday 30 November

    assert run(engine, config, "2026-11-30") == {
        "six_month_check_in:placement:10:1": (
            "planned",
            None,
            "email",
            D("2026-11-30"),
            "2026-11-30 10:00",
        )
    }


def test_nothing_goes_out_on_a_version_the_gate_quarantined(engine: sa.Engine) -> None:
    config = only("first_day")
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-11-30"))
    candidate(engine, 2)
    placement(engine, 20, 2, start_date=D("2026-11-30"))
    placement(engine, 30, 3, start_date=D("2026-11-30"))  # candidate 3 never staged
    quarantine(engine, "candidate", 1)  # the newer version may carry an opt-out

    decided = {tp: row[:2] for tp, row in run(engine, config, "2026-11-30").items()}
    assert decided == {
        "first_day:placement:10:1": ("suppressed", "quarantined"),
        "first_day:placement:20:1": ("planned", None),
        "first_day:placement:30:1": ("suppressed", "quarantined"),
    }


def test_a_rows_channel_means_the_same_on_its_first_night_and_every_later_one(
    engine: sa.Engine,
) -> None:
    """A reason about the subject carries no channel, whether the row is decided so on its
    first night or planned first and decided again; a reason about the message keeps the
    channel it would have gone out on."""
    config = only("check_in")
    for candidate_id in (1, 2, 3):
        candidate(engine, candidate_id)
        placement(engine, 10 * candidate_id, candidate_id, start_date=D("2026-10-26"))
    quarantine(engine, "candidate", 1)  # quarantined before its first decision
    first = run(engine, config, "2026-11-30")
    assert first["check_in:placement:10:1"][:3] == ("suppressed", "quarantined", None)
    assert first["check_in:placement:20:1"][:3] == ("planned", None, "email")

    quarantine(engine, "candidate", 2)  # planned, then quarantined
    candidate(engine, 3, is_anonymized=True)  # planned, then removed
    again = run(engine, config, "2026-12-01")
    assert again["check_in:placement:20:1"][:3] == ("suppressed", "quarantined", None)
    assert again["check_in:placement:30:1"][:3] == ("suppressed", "candidate_removed", None)


def test_weekday_only_milestones_never_go_out_on_a_weekend(engine: sa.Engine) -> None:
    config = only("first_day", "check_in")
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2026-11-27"))  # first day Friday 27 November
    placement(engine, 11, 1, start_date=D("2026-10-23"))  # check-in due Friday 27 too

    friday = run(engine, config, "2026-11-27")
    # the cap defers the check-in a day, which is a Saturday: it goes on Monday
    assert friday["check_in:placement:11:1"] == (
        "planned",
        None,
        "email",
        D("2026-11-27"),
        "2026-11-30 10:00",
    )
    mark_sent(engine, "first_day:placement:10:1")
    saturday = run(engine, config, "2026-11-28")
    assert saturday["check_in:placement:11:1"][4] == "2026-11-30 10:00"


def test_a_backfill_after_a_later_day_changes_nothing(engine: sa.Engine) -> None:
    config = only("review_request")
    candidate(engine, 1)
    # due Monday 16 November with a 14-day window: open on the 30th, gone by 1 December
    placement(engine, 10, 1, start_date=D("2026-09-21"))
    later = run(engine, config, "2026-12-01")

    assert run(engine, config, "2026-11-30") == later


# ------------------------------------------------------------------------------------------
# a night decides what changed since the last one (the same ledger as deciding everything:
# tests/test_plan_properties.py); the changes it must not miss


def test_a_night_decides_only_what_changed_since_the_last(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    config = only("first_day")
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2027-03-01"))
    run(engine, config, "2026-11-30")

    with caplog.at_level("INFO", logger="aftercare.plan"):
        run(engine, config, "2026-12-01")
        run(engine, config, "2026-12-01", everything=True)
    assert "deciding what changed since 2026-11-30" in caplog.text
    assert "deciding everything in reach" in caplog.text


def test_a_start_date_moved_into_the_past_is_expired_not_lost(engine: sa.Engine) -> None:
    config = only("first_day")
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2027-03-01"))
    assert run(engine, config, "2026-11-30") == {}

    placement(engine, 10, 1, start_date=D("2026-11-24"))  # it started last week after all
    assert run(engine, config, "2026-12-01") == {
        "first_day:placement:10:1": ("expired", "missed_window", "sms", D("2026-11-24"), None)
    }


def test_a_corrected_birth_date_within_the_look_back_is_expired_not_lost(
    engine: sa.Engine,
) -> None:
    config = only("birthday")
    candidate(engine, 1, date_of_birth=D("1990-06-15"))
    placement(engine, 10, 1, start_date=D("2026-06-01"))
    assert run(engine, config, "2026-11-30") == {}

    candidate(engine, 1, date_of_birth=D("1990-11-25"))
    assert run(engine, config, "2026-12-01") == {
        "birthday:candidate:1:2026": ("expired", "missed_window", "sms", D("2026-11-25"), None)
    }


def test_a_placement_staged_late_makes_a_past_birthday_count(engine: sa.Engine) -> None:
    config = only("birthday")
    candidate(engine, 1, date_of_birth=D("1990-11-20"))
    assert run(engine, config, "2026-11-30") == {}  # not placed: no birthday message

    placement(engine, 10, 1, start_date=D("2026-06-01"))  # placed since June, staged late
    assert run(engine, config, "2026-12-01") == {
        "birthday:candidate:1:2026": ("expired", "missed_window", "sms", D("2026-11-20"), None)
    }


def test_new_planning_settings_decide_everything_again(engine: sa.Engine) -> None:
    candidate(engine, 1)
    # check-in due Monday 23 November, its window closed on the 30th
    placement(engine, 10, 1, start_date=D("2026-10-19"))
    assert run(engine, only("first_day"), "2026-11-30") == {}

    assert run(engine, only("first_day", "check_in"), "2026-12-01") == {
        "check_in:placement:10:1": ("expired", "missed_window", "email", D("2026-11-23"), None)
    }


@pytest.mark.parametrize("warehouse_engine", ["postgres"], indirect=True)
def test_a_load_committed_while_a_night_plans_counts_as_a_change_the_next_night(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = only("first_day")
    candidate(engine, 1)
    placement(engine, 10, 1, start_date=D("2027-03-01"))
    run(engine, config, "2026-11-30")
    # a load that began before the night's plan (its loaded_at) and commits while it decides
    loader = engine.connect()
    load = loader.begin()
    loader.execute(
        sa.text(
            "update staging.placements set start_date = date '2026-11-24',"
            " loaded_at = current_timestamp where placement_id = 10"
        )
    )
    execute_file = warehouse.execute_file

    def commit_the_load_midway(conn: sa.Connection, name: str, *args: object) -> int:
        if name == "cohorts/apply_plan.sql" and load.is_active:
            load.commit()
        return execute_file(conn, name, *args)

    monkeypatch.setattr(warehouse, "execute_file", commit_the_load_midway)
    assert run(engine, config, "2026-12-01") == {}  # the plan did not see it
    monkeypatch.setattr(warehouse, "execute_file", execute_file)
    loader.close()

    assert run(engine, config, "2026-12-02") == {
        "first_day:placement:10:1": ("expired", "missed_window", "sms", D("2026-11-24"), None)
    }


def test_a_milestone_moved_to_another_subject_keeps_its_occurrences_apart(
    engine: sa.Engine,
) -> None:
    candidate(engine, 1, date_of_birth=D("1990-11-30"))
    placement(engine, 1, 1, start_date=D("2020-06-01"))  # placement 1 of candidate 1
    assert "birthday:candidate:1:2026" in run(engine, only("birthday"), "2026-11-30")
    mark_sent(engine, "birthday:candidate:1:2026")

    # the agency makes "birthday" a yearly message on the placement's start date instead
    config = only("birthday")
    on_the_start_date = Milestone(
        anchor="start_date",
        repeat="yearly",
        occurrence="calendar_year",
        window_days=0,
        send_time=time(9),
        channels=["sms"],
    )
    planning = config.planning.model_copy(update={"milestones": {"birthday": on_the_start_date}})
    config = config.model_copy(update={"planning": planning})
    placement(engine, 1, 1, start_date=D("2020-12-01"))

    assert run(engine, config, "2026-12-01")["birthday:placement:1:2026"][:3] == (
        "planned",
        None,
        "sms",
    )


def test_new_rules_in_a_release_decide_everything_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config()
    for name in plan.RULES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((SQL_DIR / name).read_bytes())
    monkeypatch.setattr(plan, "SQL_DIR", tmp_path)
    before = plan._params(config, D("2026-12-01"))["config_digest"]
    assert plan._params(config, D("2026-12-02"))["config_digest"] == before

    for stage in plan.PROPOSE:  # every stage's SQL is a rule
        with (tmp_path / stage).open("a") as rules:
            rules.write("\n-- a release changed a rule\n")
        changed = plan._params(config, D("2026-12-02"))["config_digest"]
        assert changed != before
        before = changed


def test_the_contract_lists_every_reason_the_planning_sql_can_decide() -> None:
    """`plan.DECISIONS` (what the coverage report and the scenario test hold the nights to) is
    the SQL's own list: a reason added to a planning stage and not to the contract fails here."""
    text = "\n".join((SQL_DIR / stage).read_text() for stage in plan.PROPOSE)
    statuses = {status for status, _ in plan.DECISIONS}
    channels = {"email", "sms", "video", "phone"}
    written = {word for word in re.findall(r"(?:then|else) '(\w+)'", text)} - statuses - channels
    written |= {reason for _, reason in re.findall(r"'(\w+):(\w+)'", text)}
    assert written == {reason for _, reason in plan.DECISIONS if reason}
