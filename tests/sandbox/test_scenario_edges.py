"""The sandbox's ``edges`` scenario lived end to end (the story of `make demo SCENARIO=edges`,
through dag.test() on DuckDB, around a small usual world): every decision of the planning
contract is reached over its nights, and every planted case ends as its rule says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from aftercare import coverage
from aftercare.config import load_config
from aftercare.connections import warehouse_transaction
from sandbox import SandboxServer, SandboxSettings
from sandbox.ats import scenario as edges
from sandbox.ats.settings import AtsSandboxSettings
from sandbox.localdev import Story, live_story
from tests import point_connections_at

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db", "duckdb_warehouse")]


@pytest.fixture
def edges_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SandboxServer]:
    """The sandbox with the edges scenario planted in a small world, every connection but the
    warehouse's pointing at it, and the preferences service beside it (as in the demo: the
    video milestones' pages are registered there)."""
    from tests.test_preferences import serving

    ats = AtsSandboxSettings(placements=300, clock_start=edges.FIRST_DAY, scenario="edges")
    with SandboxServer(SandboxSettings(seed=9, ats=ats)) as server:
        point_connections_at(server, monkeypatch)
        with serving(server, tmp_path, monkeypatch):
            yield server


@pytest.fixture
def lived(edges_sandbox: SandboxServer, tmp_path: Path) -> list[dict]:
    """The scenario's nights lived; its planted cases."""
    zone = ZoneInfo(load_config().agency.time_zone)
    nights = [datetime.combine(edges.day(n), time(2), tzinfo=zone) for n in range(edges.NIGHTS)]
    live_story(edges_sandbox.url, Story(tmp_path / "logs"), nights, frozenset(edges.OUTAGE))
    manifest = requests.get(f"{edges_sandbox.url}/sandbox/ats/scenario", timeout=30).json()
    return manifest["cases"]


def story_runs() -> list[tuple[str, datetime, timedelta]]:
    """Each DAG run in Airflow's metadata (this test process's, shared by its tests): its id,
    logical date and duration."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return [
            (run.run_id, run.logical_date, run.end_date - run.start_date)
            for run in session.scalars(select(DagRun))
        ]


def test_the_edges_scenario_reaches_every_rule_and_each_case_ends_as_its_rule_says(
    lived: list[dict],
) -> None:
    first, last = edges.day(0), edges.day(edges.NIGHTS - 1)
    with warehouse_transaction() as conn:
        counts = coverage.decisions(conn, first, last)
        outcomes = coverage.case_outcomes(conn, lived, load_config().agency.time_zone)
        sent = conn.exec_driver_sql(
            "select t.touchpoint_id, t.sent_at, coalesce(c.time_zone, ?) from"
            " aftercare.touchpoints as t join staging.candidates as c using (candidate_id)"
            " where t.status = 'sent' and t.channel <> 'phone'",
            (load_config().agency.time_zone,),
        ).all()
        report = coverage.report(conn, first, last, lived)
    print(report)
    assert coverage.unreached(counts) == [], report
    # in Airflow's UI the story's runs are named by their simulated night and last what their
    # tasks took (not the days between the simulated night and the wall clock)
    runs = [run for run in story_runs() if first <= run[1].date() <= last + timedelta(days=20)]
    assert runs and all(f"__{logical.isoformat()}" in run_id for run_id, logical, _ in runs)
    assert all(timedelta(0) <= took < timedelta(minutes=10) for _, _, took in runs)
    wrong = [
        f"{case['edge']}: {case['touchpoint_id']} is {case['actual']} due {case['actual_due']},"
        f" expected {case['expect']} due {case['due_date']}"
        for case in outcomes
        if not case["ok"]
    ]
    assert wrong == [], report
    # nothing went out in anyone's quiet hours (20:00-08:00 local), the outage's evening included
    quiet = [
        touchpoint
        for touchpoint, at, zone in sent
        if not time(8) <= at.astimezone(ZoneInfo(zone)).time() < time(20)
    ]
    assert sent and quiet == []
    # the check-in due on the outage day waited out the evening's quiet hours: sent next day
    by_edge = {case["edge"]: case for case in outcomes}
    assert by_edge["quiet_hours_held"]["sent_at_local"].startswith("2026-03-05")
    # first days at 08:00 New York time, either side of the change to summer time
    assert by_edge["before_summer_time"]["send_at_local"] == "2026-03-06T08:00-05:00"
    assert by_edge["after_summer_time"]["send_at_local"] == "2026-03-09T08:00-04:00"
    # either side of midnight UTC, a birthday goes out at 09:00 on the local day
    for edge in ("zone_behind_utc", "zone_ahead_of_utc"):
        assert by_edge[edge]["send_at_local"].startswith("2026-03-06T09:00"), by_edge[edge]
        assert by_edge[edge]["sent_at_local"].startswith("2026-03-06"), by_edge[edge]
