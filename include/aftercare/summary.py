"""Run summaries: counts per stage of one DAG run, kept in ``aftercare.run_summaries`` and
written to the task log (ids and counts only, never personal data)."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from aftercare import warehouse

log = logging.getLogger(__name__)

StageCounts = dict[str, dict[str, int]]

#: Display order of the stages in summaries; the warehouse's end-of-run state comes last.
STAGES = ("prepare", "extract", "validate", "plan", "dispatch", "record", "warehouse")


def merge(outputs: list[dict[str, int] | None]) -> dict[str, int]:
    """The counts of a stage's tasks, summed by key (skipped tasks give None)."""
    merged: dict[str, int] = {}
    for output in outputs:
        for key, value in (output or {}).items():
            merged[key] = merged.get(key, 0) + int(value)
    return merged


def record_run(
    conn: Connection,
    *,
    dag_id: str,
    run_id: str,
    run_date: date,
    stages: dict[str, list[dict[str, int] | None]],
) -> StageCounts:
    """Sum each stage's task counts, add the warehouse's end-of-run state, store the row."""
    counts = {stage: merge(outputs) for stage, outputs in stages.items()}
    counts["warehouse"] = {
        key: int(value)
        for key, value in warehouse.query_file(conn, "record/warehouse_counts.sql")[0].items()
    }
    warehouse.execute_file(
        conn,
        "record/upsert_run_summary.sql",
        {
            "dag_id": dag_id,
            "run_id": run_id,
            "run_date": run_date,
            "counts": warehouse.to_json(counts),
        },
    )
    log.info("run summary of %s %s:\n%s", dag_id, run_id, format_table({str(run_date): counts}))
    return counts


def recent_runs(conn: Connection, dag_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """The newest run summaries of a DAG, counts decoded."""
    rows = warehouse.query_file(
        conn, "record/run_summaries.sql", {"dag_id": dag_id, "limit": limit}
    )
    for row in rows:
        if isinstance(row["counts"], str):  # postgres jsonb decodes itself, duckdb json may not
            row["counts"] = json.loads(row["counts"])
    return rows


def format_table(columns: dict[str, StageCounts]) -> str:
    """Counts per stage, one column per run: rows ``stage  count`` (stages in pipeline order,
    other names such as channels by name, counts by name), missing cells as ``-``."""
    rows: dict[tuple[str, str], None] = {}
    for counts in columns.values():
        for stage, values in counts.items():
            rows.update(dict.fromkeys((stage, key) for key in values))
    width = max([len("count"), *(len(key) for _, key in rows)])
    header = f"  {'stage':<10} {'count':<{width}}" + "".join(f" {label:>12}" for label in columns)
    lines = [header]
    order = {stage: position for position, stage in enumerate(STAGES)}
    # counts by name within a stage: Postgres's jsonb keeps keys shortest first, DuckDB's json
    # as written, and the same night must print the same table on either warehouse
    for stage, key in sorted(rows, key=lambda row: (order.get(row[0], len(STAGES)), *row)):
        cells = "".join(
            f" {counts.get(stage, {}).get(key, '-'):>12}" for counts in columns.values()
        )
        lines.append(f"  {stage:<10} {key:<{width}}{cells}")
    return "\n".join(lines)
