"""aftercare_nightly end to end: dag.test() on DuckDB against the sandbox ATS, two nights in a
row with the ATS's clock advanced between them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import DagRunState

from aftercare import summary, warehouse
from aftercare.config import load_config
from aftercare.connections import warehouse_transaction
from sandbox import SandboxServer, SandboxSettings
from sandbox.ats.settings import AtsSandboxSettings
from tests import ROOT, expected_candidate, expected_placement, placement_faults
from tests.test_ats_client import truth

DAGS = ROOT / "dags"
LONDON = ZoneInfo("Europe/London")
ATS = AtsSandboxSettings(placements=600, clock_start=date(2026, 11, 24))


@pytest.fixture
def ats_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    """The sandbox ATS, and the aftercare_ats connection pointing at it."""
    with serving(ATS, monkeypatch) as server:
        yield server


@contextmanager
def serving(ats: AtsSandboxSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(seed=5, ats=ats)) as server:
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
    with warehouse_transaction() as conn:
        rows = conn.exec_driver_sql(QUERIES[table]).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def quarantine_history(entity: str) -> list[tuple]:
    with warehouse_transaction() as conn:
        return conn.exec_driver_sql(
            "select record_id from quality.quarantine where entity = ?", (entity,)
        ).all()


#: the run id of each night run_night ran
night_runs: dict[datetime, str] = {}


def run_night(dag, night: datetime, **conf: object) -> dict[str, str]:  # noqa: ANN001
    run = dag.test(logical_date=night, run_conf=conf or None)
    night_runs[night] = run.run_id
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    if run.state != DagRunState.SUCCESS:
        return states
    return {}


@pytest.mark.e2e
def test_two_nights_against_the_sandbox(
    airflow_db: None, ats_sandbox: SandboxServer, duckdb_warehouse: Path
) -> None:
    dag = DagBag(dag_folder=str(DAGS)).dags["aftercare_nightly"]
    first, second = (
        datetime(2026, 11, 24, 2, tzinfo=LONDON),
        datetime(2026, 11, 25, 2, tzinfo=LONDON),
    )

    assert not run_night(dag, first)
    requests.post(f"{ats_sandbox.url}/sandbox/ats/clock/advance", params={"days": 1}, timeout=30)
    assert not run_night(dag, second)

    with warehouse_transaction() as conn:
        stored = {row["run_date"]: row["counts"] for row in summary.recent_runs(conn, dag.dag_id)}
    night1, night2 = stored[first.date()], stored[second.date()]
    placements, candidates = truth(ats_sandbox, "Placement"), truth(ats_sandbox, "Candidate")
    # night 1: a fresh warehouse, the whole ATS; night 2: only what changed, and no migrations
    assert night1["prepare"]["migrations_applied"] == len(warehouse.migrations())
    assert night2["prepare"]["migrations_applied"] == 0
    assert night1["extract"]["placements_pulled"] >= ATS.placements
    assert 0 < night2["extract"]["placements_pulled"] < len(placements) / 4
    # staging equals the sandbox's truth: every valid placement in its latest version
    config, expected, first_starts = load_config(), {}, {}
    for record in placements:
        row = expected_placement(record, config)
        if row["start_date"] and row["candidate_id"]:
            known = first_starts.get(row["candidate_id"], row["start_date"])
            first_starts[row["candidate_id"]] = min(known, row["start_date"])
        if not placement_faults(row, record, {c["id"] for c in candidates}, config):
            expected[row["placement_id"]] = (row["status"], row["start_date"], row["end_date"])
    got = staged("placements")
    assert {pid: got[pid] for pid in expected} == expected
    # beyond those, staging holds only placements deleted in the ATS (flagged by the sweep)
    assert set(got) - set(expected) == set(got) - {record["id"] for record in placements}
    # and every candidate, a bad contact field staged as absent (a finding, not a quarantine)
    stored = {c["id"]: c for c in truth(ats_sandbox, "Candidate", stored=True)}
    expected_candidates = {
        c["id"]: (
            expected_candidate(
                c, stored[c["id"]], first_starts.get(c["id"]), config, str(second.date())
            )["email"],
            bool(c["isAnonymized"]),
        )
        for c in candidates
    }
    emails = staged("candidates")
    assert {cid: emails[cid] for cid in expected_candidates} == expected_candidates
    assert quarantine_history("candidate") == []
    assert night2["warehouse"]["staged_placements"] == len(got)
    # the plan wrote its decisions, and nobody is planned against their consent
    assert night2["plan"]
    with warehouse_transaction() as conn:
        breaches = conn.exec_driver_sql(
            "select count(*) from aftercare.touchpoints t"
            " left join staging.candidates c on c.candidate_id = t.candidate_id"
            " left join aftercare.suppressions s on s.candidate_id = t.candidate_id"
            "   and s.channel in (t.channel, 'all')"
            " where t.status = 'planned' and (c.candidate_id is null or c.is_anonymized"
            "   or c.is_deleted or s.candidate_id is not null"
            "   or (t.channel = 'email' and (c.email is null or c.email_opt_out))"
            "   or (t.channel = 'sms' and (c.mobile_e164 is null or not c.sms_opt_in)))"
        ).scalar()
        planned = conn.exec_driver_sql(
            "select count(*) from aftercare.touchpoints where status = 'planned'"
        ).scalar()
    assert planned and breaches == 0

    # a preview run the next night reads and prints, and writes nothing: not the ATS's changes,
    # not the ledger (nor its asset, which would start engagement), not a run summary
    requests.post(f"{ats_sandbox.url}/sandbox/ats/clock/advance", params={"days": 1}, timeout=30)
    before = {table: staged(table) for table in QUERIES}
    with warehouse_transaction() as conn:
        ledger = conn.exec_driver_sql(LEDGER).all()
        raw = conn.exec_driver_sql("select count(*) from raw.placements").scalar()
    preview = dag.test(
        logical_date=datetime(2026, 11, 26, 2, tzinfo=LONDON), run_conf={"preview_days": 3}
    )
    states = {ti.task_id: ti.state for ti in preview.get_task_instances()}
    assert preview.state == DagRunState.SUCCESS
    writers = (
        "extract.pull_placements",
        "extract.pull_candidates",
        "validate.check_quality",
        "validate.stage_records",
        "sweep_deleted_placements",
        "plan.plan_touchpoints",
        "record.write_run_summary",
    )
    assert {task: states[task] for task in writers} == dict.fromkeys(writers, "skipped")
    assert {table: staged(table) for table in QUERIES} == before
    with warehouse_transaction() as conn:
        assert conn.exec_driver_sql(LEDGER).all() == ledger
        assert conn.exec_driver_sql("select count(*) from raw.placements").scalar() == raw
        nights = {row["run_date"] for row in summary.recent_runs(conn, dag.dag_id)}
    assert nights == {first.date(), second.date()}
    assert ledger_events(preview.run_id) == 0
    assert ledger_events(night_runs[second]) == 1  # the check sees a real night's update


LEDGER = "select touchpoint_id, status, reason from aftercare.touchpoints order by 1"


def ledger_events(run_id: str) -> int:
    """The updates of the ledger asset a run made (each starts an engagement run)."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(
            select(func.count()).select_from(AssetEvent).where(AssetEvent.source_run_id == run_id)
        )


@pytest.mark.e2e
def test_a_dirty_night_stops_at_the_quality_gate_until_overridden(
    airflow_db: None, monkeypatch: pytest.MonkeyPatch, duckdb_warehouse: Path
) -> None:
    dag = DagBag(dag_folder=str(DAGS)).dags["aftercare_nightly"]
    night = datetime(2026, 11, 24, 2, tzinfo=LONDON)
    with serving(ATS.model_copy(update={"dirty_share": 0.25}), monkeypatch):
        failed = run_night(dag, night)
        # the gate failed once (no retries: the data would not change), nothing was staged
        assert failed["validate.check_quality"] == "failed"
        assert failed["validate.stage_records"] == "upstream_failed"
        assert staged("placements") == {}
        assert quarantine_history("placement")

        assert not run_night(dag, night, override_quality_gate=True)
    assert staged("placements")
    with warehouse_transaction() as conn:
        gate_runs = conn.exec_driver_sql(
            "select count(*) from quality.validation_runs where suite = 'loads' and not success"
        ).scalar()
    assert gate_runs == 2  # tripped, then tripped again but overridden
