"""aftercare_nightly end to end: dag.test() on DuckDB, with the sandbox up, two nights in a row."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import DagRunState

from aftercare import summary, warehouse

DAGS = Path(__file__).resolve().parents[1] / "dags"
LONDON = ZoneInfo("Europe/London")


@pytest.mark.e2e
def test_two_consecutive_nights(airflow_db: None, sandbox: object, duckdb_warehouse: Path) -> None:
    dag = DagBag(dag_folder=str(DAGS)).dags["aftercare_nightly"]
    nights = [datetime(2026, 11, 24, 2, tzinfo=LONDON), datetime(2026, 11, 25, 2, tzinfo=LONDON)]

    runs = [dag.test(logical_date=night) for night in nights]

    for run in runs:
        states = {ti.task_id: ti.state for ti in run.get_task_instances()}
        assert run.state == DagRunState.SUCCESS, states
    with warehouse.transaction() as conn:
        stored = {row["run_date"]: row["counts"] for row in summary.recent_runs(conn, dag.dag_id)}
    assert set(stored) == {date(2026, 11, 24), date(2026, 11, 25)}
    # the first night migrates the fresh warehouse, the second finds nothing to do
    assert stored[date(2026, 11, 24)]["prepare"]["migrations_applied"] == len(
        warehouse.migrations()
    )
    assert stored[date(2026, 11, 25)]["prepare"]["migrations_applied"] == 0
    assert stored[date(2026, 11, 25)]["warehouse"]["touchpoints_planned"] == 0
