"""aftercare_nightly end to end: dag.test() on DuckDB against the sandbox ATS, two nights in a
row with the ATS's clock advanced between them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import DagRunState

from aftercare import summary, warehouse
from aftercare.config import load_config
from aftercare.sandbox import SandboxServer, SandboxSettings
from aftercare.sandbox.ats.settings import AtsSandboxSettings
from tests import ROOT, expected_placement, keeps_contract
from tests.test_ats_client import truth

DAGS = ROOT / "dags"
LONDON = ZoneInfo("Europe/London")
ATS = AtsSandboxSettings(placements=600, clock_start=date(2026, 11, 24))


@pytest.fixture
def ats_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    """The sandbox ATS, and the aftercare_ats connection pointing at it."""
    with SandboxServer(SandboxSettings(seed=5, ats=ATS)) as server:
        connection = {
            "conn_type": "http",
            "host": f"{server.url}/ats",
            "login": ATS.api_user,
            "password": ATS.api_password,
            "extra": {"client_id": ATS.client_id, "client_secret": ATS.client_secret},
        }
        monkeypatch.setenv("AIRFLOW_CONN_AFTERCARE_ATS", json.dumps(connection))
        yield server


QUERIES = {
    "placements": "select placement_id, status, cast(start_date as varchar),"
    " cast(end_date as varchar) from staging.placements",
    "candidates": "select candidate_id, email, is_anonymized from staging.candidates",
}


def staged(table: str) -> dict[int, tuple]:
    with warehouse.transaction() as conn:
        rows = conn.exec_driver_sql(QUERIES[table]).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def run_night(dag, night: datetime) -> None:  # noqa: ANN001
    run = dag.test(logical_date=night)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == DagRunState.SUCCESS, states


@pytest.mark.e2e
def test_two_nights_against_the_sandbox(
    airflow_db: None, ats_sandbox: SandboxServer, duckdb_warehouse: Path
) -> None:
    dag = DagBag(dag_folder=str(DAGS)).dags["aftercare_nightly"]
    first, second = (
        datetime(2026, 11, 24, 2, tzinfo=LONDON),
        datetime(2026, 11, 25, 2, tzinfo=LONDON),
    )

    run_night(dag, first)
    requests.post(f"{ats_sandbox.url}/sandbox/ats/clock/advance", params={"days": 1}, timeout=30)
    run_night(dag, second)

    with warehouse.transaction() as conn:
        stored = {row["run_date"]: row["counts"] for row in summary.recent_runs(conn, dag.dag_id)}
    night1, night2 = stored[first.date()], stored[second.date()]
    placements, candidates = truth(ats_sandbox, "Placement"), truth(ats_sandbox, "Candidate")
    # night 1: a fresh warehouse, the whole ATS; night 2: only what changed, and no migrations
    assert night1["prepare"]["migrations_applied"] == len(warehouse.migrations())
    assert night2["prepare"]["migrations_applied"] == 0
    assert night1["extract"]["placements_pulled"] >= ATS.placements
    assert 0 < night2["extract"]["placements_pulled"] < len(placements) / 4
    # staging equals the sandbox's truth: every valid placement in its latest version
    expected = {}
    for record in placements:
        row = expected_placement(record, load_config())
        if keeps_contract(row):
            expected[row["placement_id"]] = (row["status"], row["start_date"], row["end_date"])
    got = staged("placements")
    assert {pid: got[pid] for pid in expected} == expected
    # beyond those, staging holds only placements deleted in the ATS (flagged by the sweep)
    assert set(got) - set(expected) == set(got) - {record["id"] for record in placements}
    emails = staged("candidates")
    assert emails == {
        c["id"]: ((c["email"] or "").strip() or None, bool(c["isAnonymized"])) for c in candidates
    }
    assert night2["warehouse"]["staged_placements"] == len(got)
