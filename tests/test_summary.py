"""Run summaries: stored once per run, rewritten on rerun, readable as a table."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

from aftercare import summary, warehouse
from aftercare.connections import open_warehouse
from aftercare.dagkit import run_moment
from aftercare.tasks.nightly import business_date


def test_record_run_keeps_one_row_per_business_date(duckdb_warehouse: Path) -> None:
    night = date(2026, 11, 25)
    with open_warehouse() as engine:
        warehouse.migrate(engine)
        with warehouse.transaction(engine) as conn:
            first = summary.record_run(
                conn, dag_id="d", run_id="r1", run_date=night, stages={"prepare": [{"x": 1}]}
            )
            summary.record_run(  # the day rerun: two tasks of the stage, one skipped
                conn,
                dag_id="d",
                run_id="r2",
                run_date=night,
                stages={"prepare": [{"x": 2}, {"x": 3}, None]},
            )
            rows = summary.recent_runs(conn, "d")

    assert first["warehouse"]["touchpoints_planned"] == 0
    assert [(row["run_id"], row["counts"]["prepare"]) for row in rows] == [("r2", {"x": 5})]


def test_format_table_orders_stages_and_marks_missing_cells() -> None:
    table = summary.format_table(
        {
            "2026-11-25": {"warehouse": {"sent": 3}, "prepare": {"migrations_applied": 6}},
            "2026-11-26": {"warehouse": {"sent": 5}},
        }
    )
    lines = table.splitlines()

    assert lines[0].split() == ["stage", "count", "2026-11-25", "2026-11-26"]
    assert lines[1].split() == ["prepare", "migrations_applied", "6", "-"]
    assert lines[2].split() == ["warehouse", "sent", "3", "5"]


def test_format_table_is_the_same_whatever_order_the_warehouse_keeps_keys_in() -> None:
    # Postgres's jsonb hands keys back shortest first; DuckDB's json as they were written
    jsonb = {"plan": {"touchpoints_planned": 4, "touchpoints_expired_missed_window": 2}}
    written = {"plan": {"touchpoints_expired_missed_window": 2, "touchpoints_planned": 4}}
    table = summary.format_table({"2026-11-25": jsonb})

    assert table == summary.format_table({"2026-11-25": written})
    assert [line.split()[1] for line in table.splitlines()[1:]] == [
        "touchpoints_expired_missed_window",
        "touchpoints_planned",
    ]


def test_format_table_keeps_the_rows_of_names_that_are_not_stages_together() -> None:
    # the demo's ledger table: channels in the stage column
    table = summary.format_table(
        {"2026-11-25": {"sms": {"sent": 1, "failed": 2}, "email": {"sent": 3, "cancelled_x": 4}}}
    )
    assert [line.split()[:2] for line in table.splitlines()[1:]] == [
        ["email", "cancelled_x"],
        ["email", "sent"],
        ["sms", "failed"],
        ["sms", "sent"],
    ]


def test_run_date_is_local_and_falls_back_to_run_after() -> None:
    late_utc = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # already 2 July in London (BST)
    scheduled = {"logical_date": late_utc}
    assert business_date(run_moment(scheduled), "Europe/London") == date(2026, 7, 2)
    manual = {"logical_date": None, "dag_run": SimpleNamespace(run_after=late_utc)}
    assert business_date(run_moment(manual), "America/New_York") == date(2026, 7, 1)


def test_format_table_keeps_columns_aligned_for_long_count_names() -> None:
    table = summary.format_table(
        {"2026-11-25": {"plan": {"touchpoints_expired_missed_window": 655, "touchpoints_x": 1}}}
    )
    lines = table.splitlines()

    # the cells are right-aligned: aligned columns make lines of one length
    assert len({len(line) for line in lines}) == 1
