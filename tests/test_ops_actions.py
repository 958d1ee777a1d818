"""The ops console's warehouse side (issue 15): the actions the ``aftercare_ops`` DAG applies
(pause and resume a milestone, judge quarantined records again), once per run id, on DuckDB and
Postgres; what a pause does to dispatch and the plan; and the DuckDB snapshot readers read
while a task holds the warehouse's write lock."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aftercare import connections, extract, plan, warehouse
from aftercare.config import Config, load_config
from aftercare.ops import actions
from aftercare.quality import gate
from tests import ROOT, test_quality
from tests.test_dispatch import candidate, received, run_dispatch, set_clock
from tests.test_plan import ledger, only, placement

D = date(2026, 11, 23)  # a Monday
ASKED = "2026-11-23T09:30:00+00:00"


@pytest.fixture
def engine(warehouse_engine: sa.Engine) -> sa.Engine:
    warehouse.migrate(warehouse_engine)
    return warehouse_engine


def act(engine: sa.Engine, config: Config, action_id: str, kind: str, target: str) -> Any:
    action = actions.Action.of(
        kind=kind, target=target, comment="template fix", requested_by="ops", requested_at=ASKED
    )
    return actions.apply(engine, config, action_id, action)


def rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql)).all()]


# --------------------------------------------------------------------------------------------
# the actions themselves


def test_each_action_is_applied_and_recorded_once(engine: sa.Engine) -> None:
    config = only("first_day", "check_in")
    first = act(engine, config, "manual__1", "pause", "check_in")
    again = act(engine, config, "manual__1", "pause", "check_in")  # a retried task
    assert (first.applied_now, first.result) == (True, {"rows": 1})
    assert (again.applied_now, again.result) == (False, {"rows": 1})
    assert rows(
        engine, "select milestone, paused_by, comment, action_id from aftercare.milestone_pauses"
    ) == [("check_in", "ops", "template fix", "manual__1")]
    # pausing a paused milestone keeps the first pause
    assert act(engine, config, "manual__2", "pause", "check_in").result == {"rows": 0}
    assert act(engine, config, "manual__3", "resume", "check_in").result == {"rows": 1}
    assert act(engine, config, "manual__3", "resume", "check_in").applied_now is False
    assert rows(engine, "select count(*) from aftercare.milestone_pauses") == [(0,)]
    recorded = rows(
        engine,
        "select action_id, kind, target, requested_by, cast(result as varchar)"
        " from aftercare.ops_actions order by action_id",
    )
    assert [(a, k, t, r, json.loads(res)) for a, k, t, r, res in recorded] == [
        ("manual__1", "pause", "check_in", "ops", {"rows": 1}),
        ("manual__2", "pause", "check_in", "ops", {"rows": 0}),
        ("manual__3", "resume", "check_in", "ops", {"rows": 1}),
    ]
    [(requested_at,)] = rows(engine, "select requested_at from aftercare.ops_actions limit 1")
    assert requested_at == datetime.fromisoformat(ASKED)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kind": "pause", "target": "no_such_milestone"}, "unknown milestone 'no_such_milestone'"),
        ({"kind": "resume", "target": "first_day", "comment": "   "}, "comment"),
        ({"kind": "rejudge", "target": "placement/1"}, "bad target 'placement/1'"),
        ({"kind": "rejudge", "target": "record:job/1/l1"}, "bad target"),
        ({"kind": "archive", "target": "first_day"}, "kind"),
        ({"kind": "pause", "target": "first_day", "requested_at": "2026-11-23T09:30"}, "timezone"),
    ],
)
def test_a_bad_action_is_refused_with_a_clear_error(
    duckdb_warehouse: Path, values: dict[str, str], message: str
) -> None:
    engine = connections.warehouse_engine()
    try:
        warehouse.migrate(engine)
        asked = {"comment": "why", "requested_by": "ops", "requested_at": ASKED, **values}
        with pytest.raises(actions.OpsActionError, match=message):
            actions.apply(engine, only("first_day"), "manual__9", actions.Action.of(**asked))
        assert rows(engine, "select count(*) from aftercare.ops_actions") == [(0,)]
    finally:
        engine.dispose()


def test_a_run_id_is_not_taken_by_another_action(duckdb_warehouse: Path) -> None:
    engine = connections.warehouse_engine()
    try:
        warehouse.migrate(engine)
        config = only("first_day", "check_in")
        act(engine, config, "manual__1", "pause", "check_in")
        with pytest.raises(actions.OpsActionError, match="recorded as pause 'check_in'"):
            act(engine, config, "manual__1", "resume", "check_in")
        assert rows(engine, "select milestone from aftercare.milestone_pauses") == [("check_in",)]
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------
# a pause in dispatch and the plan


@pytest.mark.slow  # ~14 s on Postgres (two plan runs), ~1.5 s on DuckDB
def test_a_paused_milestone_waits_expires_as_paused_and_resumes(
    engine: sa.Engine, provider_connections: Any
) -> None:
    sandbox, config = provider_connections, only("first_day", "check_in")
    candidate(engine, 1)  # first_day on D, by sms: not paused, goes out
    placement(engine, 11, 1, start_date=D)
    candidate(engine, 3, mobile_e164=None)  # check_in due D, window to D+7: waits, then goes
    placement(engine, 13, 3, start_date=date(2026, 10, 19))
    candidate(engine, 5, mobile_e164=None)  # check_in due 16 Nov, window to D: expires paused
    placement(engine, 15, 5, start_date=date(2026, 10, 12))
    # the same in New York: still D there when London's dispatch expires the other, so the
    # plan of D+1 is what expires it
    candidate(engine, 6, mobile_e164=None, time_zone="America/New_York")
    placement(engine, 16, 6, start_date=date(2026, 10, 12))
    waiting = ["check_in:placement:13:1", "check_in:placement:15:1", "check_in:placement:16:1"]

    act(engine, config, "manual__pause", "pause", "check_in")
    plan.plan(engine, config, D)
    set_clock(sandbox, "2026-11-23T16:00:00Z")
    counts = run_dispatch(engine, config)
    state = ledger(engine)
    assert state["first_day:placement:11:1"][0] == "sent"
    assert [state[t][0] for t in waiting] == ["planned"] * 3
    assert counts["batched_email"] == 0 and received(sandbox, "sendgrid") == []

    set_clock(sandbox, "2026-11-24T01:00:00Z")  # D+1 in London, still D in New York
    run_dispatch(engine, config)
    assert ledger(engine)["check_in:placement:15:1"][:2] == ("expired", "milestone_paused")
    assert ledger(engine)["check_in:placement:16:1"][:2] == ("planned", None)
    decided = plan.plan(engine, config, D + timedelta(days=1))
    assert decided["touchpoints_expired_milestone_paused"] == 1
    assert ledger(engine)["check_in:placement:16:1"][:2] == ("expired", "milestone_paused")

    act(engine, config, "manual__resume", "resume", "check_in")
    set_clock(sandbox, "2026-11-24T12:00:00Z")
    run_dispatch(engine, config)
    assert ledger(engine)["check_in:placement:13:1"][0] == "sent"
    assert [e["custom_args"]["touchpoint_id"] for e in received(sandbox, "sendgrid")] == [
        "check_in:placement:13:1"
    ]


# --------------------------------------------------------------------------------------------
# judge again


def test_judged_again_a_record_that_passes_now_is_released_and_staged(
    engine: sa.Engine, tmp_path: Path
) -> None:
    config = test_quality.loose(load_config(), gx_project_dir=tmp_path / "gx")
    good = test_quality.GOOD_PLACEMENT
    placements = {
        1: {**good, "status": "Onboarding"},  # asked again by record: passes once mapped
        2: {**good, "status": "Onboarding"},  # not asked: stays open
        3: {**good, "end_date": date(2025, 12, 1)},  # asked again by its rule: fails again
        4: good,
    }
    test_quality.add_load(engine, "night1", placements, {1: test_quality.GOOD_CANDIDATE})
    gate.validate(engine, config, run_id="run1", as_of=test_quality.AS_OF, override=True)
    extract.stage(engine)
    assert set(test_quality.quarantine(engine)) == {
        ("placement", 1),
        ("placement", 2),
        ("placement", 3),
    }
    [(reasons,)] = rows(
        engine, "select cast(reasons as varchar) from quality.quarantine where record_id = '3'"
    )
    [rule] = json.loads(reasons)

    ops = only("first_day")
    one = act(engine, ops, "manual__1", "rejudge", "record:placement/1/night1-placement")
    by_rule = act(
        engine, ops, "manual__2", "rejudge", f"reason:{rule['expectation']}/{rule['column']}"
    )
    assert (one.result, by_rule.result) == ({"rows": 1}, {"rows": 1})
    asked = "select record_id from quality.quarantine where rejudge_requested_at is not null"
    assert sorted(rows(engine, asked)) == [("1",), ("3",)]

    # the next night brings no load; the ATS's new status is mapped meanwhile
    statuses = [*config.quality.placement_statuses, "Onboarding"]
    mapped = test_quality.loose(config, placement_statuses=statuses)
    counts = gate.validate(engine, mapped, run_id="run2", as_of=test_quality.AS_OF)
    assert counts["placements_rejudged"] == 2
    extract.stage(engine)
    assert set(test_quality.quarantine(engine)) == {("placement", 2), ("placement", 3)}
    assert test_quality.ids(engine, "placements", "placement_id") == {1, 4}
    assert rows(engine, asked) == []
    assert rows(
        engine, "select count(*) from quality.quarantine where rejudged_at is not null"
    ) == [(0,)]


# --------------------------------------------------------------------------------------------
# the snapshot readers read


HOLD_THE_LOCK = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
connection.execute("insert into aftercare.ops_actions values ('x', 'pause', 'first_day', 'c',"
                   " 'ops', now(), now(), '{}')")
print("holding", flush=True)
sys.stdin.read()
"""


def test_readers_read_the_last_snapshot_while_a_writer_holds_the_warehouse(
    duckdb_warehouse: Path,
) -> None:
    with pytest.raises(warehouse.SnapshotMissing, match="no snapshot"):
        with connections.read_warehouse():
            pass
    with connections.open_warehouse() as engine:  # a task's work, finished
        warehouse.migrate(engine)
    snapshot = warehouse.snapshot_path(duckdb_warehouse)
    copied, published = snapshot.stat().st_ino, snapshot.stat().st_mtime_ns
    with connections.open_warehouse() as engine:  # a task that writes nothing: no new copy,
        warehouse.migrate(engine)  # the last one marked current
    assert snapshot.stat().st_ino == copied and snapshot.stat().st_mtime_ns > published
    with pytest.raises(RuntimeError, match="failed"), connections.open_warehouse() as engine:
        with warehouse.transaction(engine) as conn:
            conn.execute(sa.text("create table aftercare.unfinished (x integer)"))
        raise RuntimeError("the task failed")  # not published: the snapshot stays as it was
    marked = snapshot.stat().st_mtime_ns
    with connections.open_warehouse(publish=False) as engine:  # left to a task after it
        with warehouse.transaction(engine) as conn:
            conn.execute(sa.text("create table aftercare.later (x integer)"))
    assert (snapshot.stat().st_ino, snapshot.stat().st_mtime_ns) == (copied, marked)

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(duckdb_warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(sa.exc.OperationalError, match="lock"):  # the warehouse itself: no
            sa.create_engine(
                f"duckdb:///{duckdb_warehouse}", connect_args={"read_only": True}
            ).connect()
        with connections.read_warehouse() as reader, reader.engine.connect() as conn:
            tables = set(
                conn.execute(
                    sa.text(
                        "select table_schema || '.' || table_name from information_schema.tables"
                    )
                ).scalars()
            )
            actions_seen = conn.execute(sa.text("select count(*) from aftercare.ops_actions"))
            assert actions_seen.scalar() == 0
        assert "aftercare.ops_actions" in tables and "aftercare.unfinished" not in tables
        assert "aftercare.later" not in tables
        assert datetime.now(UTC) - reader.as_of < timedelta(minutes=1)
    finally:
        holder.communicate("")
    assert holder.returncode == 0


def test_a_snapshot_that_cannot_be_copied_fails_no_task_and_keeps_the_last(
    duckdb_warehouse: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with connections.open_warehouse() as engine:
        warehouse.migrate(engine)
    snapshot = warehouse.snapshot_path(duckdb_warehouse)
    published = snapshot.stat().st_mtime_ns

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.copy_file_range", disk_full)
    with connections.open_warehouse() as engine, warehouse.transaction(engine) as conn:
        conn.execute(sa.text("create table aftercare.later (x integer)"))
    assert "snapshot not published" in caplog.text
    assert snapshot.stat().st_mtime_ns == published
    assert sorted(p.name for p in duckdb_warehouse.parent.iterdir()) == [
        "warehouse.duckdb",
        "warehouse.snapshot.duckdb",
    ]


def test_on_postgres_readers_read_live(postgres_warehouse: str) -> None:
    with connections.open_warehouse() as engine:
        warehouse.migrate(engine)
        act(engine, only("first_day"), "manual__1", "pause", "first_day")
    with connections.read_warehouse() as reader, reader.engine.connect() as conn:
        paused = conn.execute(sa.text("select milestone from aftercare.milestone_pauses"))
        assert (reader.as_of, paused.scalars().all()) == (None, ["first_day"])


# --------------------------------------------------------------------------------------------
# the DAG


@pytest.mark.e2e
def test_the_dag_applies_the_action_it_is_triggered_with(
    airflow_db: None, duckdb_warehouse: Path
) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DagRunState

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["aftercare_ops"]
    conf = {
        "kind": "pause",
        "target": "first_day",
        "comment": "template being fixed",
        "requested_by": "admin",
        "requested_at": ASKED,
    }
    run = dag.test(run_conf=conf)
    assert run.state == DagRunState.SUCCESS
    # what the console reads: the snapshot the task published, not the warehouse
    with connections.read_warehouse() as reader, reader.engine.connect() as conn:
        pauses = conn.execute(
            sa.text("select milestone, paused_by, action_id from aftercare.milestone_pauses")
        ).all()
    assert [tuple(p) for p in pauses] == [("first_day", "admin", run.run_id)]
