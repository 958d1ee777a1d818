"""Warehouse tasks side by side on Postgres: the pool's slots follow the warehouse, the tasks the
DAGs declare safe together overlap, and those that must not run together wait for each other
(`aftercare.warehouse.section`, taken by `aftercare.dagkit.warehouse_task` around every
warehouse task's body); on DuckDB nothing is taken (the pool's one slot keeps them apart)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag

from aftercare import PROJECT_ROOT, connections, dagkit, marts, warehouse
from aftercare.bootstrap import pools_file_content
from aftercare.config import ConfigError, load_config
from aftercare.names import WAREHOUSE_POOL


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def body_of(dagbag: DagBag, dag_id: str, task_id: str):  # noqa: ANN201 - the task's callable
    """What Airflow runs for a task: the warehouse wrapper around its body (its section)."""
    task = dagbag.dags[dag_id].get_task(task_id)
    assert task.pool == WAREHOUSE_POOL
    return task.python_callable


def run_beside(first, second) -> bool:  # noqa: ANN001 - two task callables
    """Run the warehouse wrappers of two tasks around probe bodies: the first holds the
    warehouse until told to finish, then the second starts; returns whether the second got in
    meanwhile, or (False) waited for a lock (seen waiting in Postgres's pg_locks). Either way
    the second gets in once the first has finished."""
    holding, inside, finish = (threading.Event() for _ in range(3))
    errors: list[BaseException] = []

    def run(task, entered: threading.Event, wait: threading.Event | None) -> None:  # noqa: ANN001
        def probe() -> None:
            entered.set()
            if wait is not None:
                assert wait.wait(30)

        try:
            dagkit._holding_the_warehouse(probe, task.warehouse_section)()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            entered.set()

    threads = [
        threading.Thread(target=run, args=(first, holding, finish)),
        threading.Thread(target=run, args=(second, inside, None)),
    ]
    threads[0].start()
    assert holding.wait(30)
    threads[1].start()
    try:
        overlapped = got_in_or_waits(inside)
    finally:
        finish.set()
        assert inside.wait(30), "the second task never got the warehouse"
        for thread in threads:
            thread.join(30)
    assert not errors, errors
    return overlapped


def got_in_or_waits(inside: threading.Event) -> bool:
    """True once the second task is inside; False once it waits for an advisory lock."""
    engine = connections.warehouse_engine()
    try:
        for _ in range(600):
            if inside.wait(0.05):
                return True
            if engine.dialect.name == "postgresql":
                with engine.connect() as conn:
                    if conn.exec_driver_sql(WAITING).scalar():
                        return False
    finally:
        engine.dispose()
    raise AssertionError("the second task neither got in nor waited for a lock")


#: sessions waiting for an advisory lock
WAITING = "select count(*) from pg_locks where locktype = 'advisory' and not granted"


PULL_PLACEMENTS = ("aftercare_nightly", "extract.pull_placements")
PULL_CANDIDATES = ("aftercare_nightly", "extract.pull_candidates")
MIGRATE = ("aftercare_nightly", "prepare_warehouse")
PLAN = ("aftercare_nightly", "plan.plan_touchpoints")
BATCH = ("aftercare_dispatch", "prepare_batches")
FOLD = ("aftercare_dispatch", "record_outcomes")
MARTS = ("aftercare_engagement", "rebuild_marts")
REPORT = ("aftercare_engagement", "build_report")
LOAD_SMS = ("aftercare_engagement", "load.load_sms")
ERASE = ("aftercare_erasure", "erase_candidates")

#: two tasks (the first runs, the second starts meanwhile) and whether they may run together
PAIRS = [
    (PULL_PLACEMENTS, PULL_CANDIDATES, True),
    (PLAN, PULL_CANDIDATES, True),
    (BATCH, PULL_PLACEMENTS, True),
    (PLAN, BATCH, False),
    (FOLD, PLAN, False),
    (PULL_PLACEMENTS, MIGRATE, False),
    (MIGRATE, PULL_CANDIDATES, False),
    (MARTS, BATCH, True),
    (FOLD, MARTS, True),
    (MARTS, PULL_PLACEMENTS, True),
    (REPORT, PLAN, True),
    (MARTS, REPORT, False),
    (MIGRATE, MARTS, False),
    (LOAD_SMS, BATCH, False),
    (ERASE, PULL_CANDIDATES, False),
]


@pytest.mark.parametrize(
    ("first", "second", "together"), PAIRS, ids=lambda v: v[1] if isinstance(v, tuple) else str(v)
)
def test_tasks_run_together_only_where_safe_on_postgres(
    dagbag: DagBag,
    postgres_warehouse: str,
    first: tuple[str, str],
    second: tuple[str, str],
    together: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="aftercare.warehouse")

    overlapped = run_beside(body_of(dagbag, *first), body_of(dagbag, *second))

    assert overlapped is together
    waited = [r for r in caplog.records if r.getMessage().startswith("waiting for the warehouse")]
    assert bool(waited) is not together


def test_a_task_of_a_section_waits_for_its_own_section(
    dagbag: DagBag, postgres_warehouse: str
) -> None:
    pull = body_of(dagbag, "aftercare_nightly", "extract.pull_placements")

    assert run_beside(pull, pull) is False


#: a touchpoint closed by a ledger writer (the fold, say)
CLOSED_TOUCHPOINT = (
    "insert into aftercare.touchpoints (touchpoint_id, milestone, candidate_id, occurrence,"
    " channel, due_date, status, reason) values ('t-beside', 'birthday', 1, 1, 'sms',"
    " date '2026-03-01', 'suppressed', 'opted_out')"
)
SUPPRESSED_IN_FUNNEL = "select coalesce(sum(suppressed), 0) from marts.touchpoint_funnel"
SUPPRESSED_IN_REASONS = "select coalesce(sum(touchpoints), 0) from marts.touchpoint_reasons"


def test_the_marts_rebuild_reads_one_snapshot_beside_the_ledgers_writers(
    postgres_warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the rebuild runs beside the plan and dispatch's fold on Postgres: a touchpoint one of
    # them commits while the marts are built is in none of them (the next rebuild has it in
    # all), never in the marts built after it and not in those before
    engine = connections.warehouse_engine()
    warehouse.migrate(engine)
    build = warehouse.execute_file
    committed = []

    def build_then_commit_beside(conn, name, *args, **kwargs):  # noqa: ANN001, ANN202
        result = build(conn, name, *args, **kwargs)
        if name == f"marts/{marts.MARTS[0]}.sql" and not committed:
            with engine.begin() as beside:  # another task's transaction
                committed.append(beside.exec_driver_sql(CLOSED_TOUCHPOINT).rowcount)
        return result

    monkeypatch.setattr(warehouse, "execute_file", build_then_commit_beside)

    def suppressed() -> tuple[int, int]:
        """The suppressed touchpoints in the funnel (built first) and in the reasons."""
        with engine.connect() as conn:
            funnel = conn.exec_driver_sql(SUPPRESSED_IN_FUNNEL).scalar()
            reasons = conn.exec_driver_sql(SUPPRESSED_IN_REASONS).scalar()
        return int(funnel), int(reasons)

    try:
        marts.rebuild(engine)
        assert committed == [1]
        assert suppressed() == (0, 0)
        marts.rebuild(engine)
        assert suppressed() == (1, 1)
    finally:
        engine.dispose()


def test_nothing_is_taken_on_duckdb(dagbag: DagBag, duckdb_warehouse: Path) -> None:
    # the pool's one slot keeps DuckDB's tasks apart; the wrapper takes no lock (and opens no
    # connection: the file stays free for the task's own engine)
    plan = body_of(dagbag, "aftercare_nightly", "plan.plan_touchpoints")
    batches = body_of(dagbag, "aftercare_dispatch", "prepare_batches")

    assert run_beside(plan, batches) is True
    assert not duckdb_warehouse.exists()


def test_every_warehouse_task_holds_the_warehouse(dagbag: DagBag) -> None:
    sections = {
        f"{dag.dag_id}.{task.task_id}": task.python_callable.warehouse_section
        for dag in dagbag.dags.values()
        for task in dag.tasks
        if task.pool == WAREHOUSE_POOL
    }

    # every one wrapped; only the sections named in dagkit run beside others
    assert {s for s in sections.values() if s} == {
        dagkit.LEDGER_SECTION,
        dagkit.MARTS_SECTION,
        *dagkit.PULL_SECTIONS.values(),
    }
    assert sections["aftercare_nightly.prepare_warehouse"] is None


def test_the_warehouse_pool_follows_the_warehouse() -> None:
    pool = load_config().airflow.pools[WAREHOUSE_POOL]

    assert pools_file_content("duckdb")[WAREHOUSE_POOL]["slots"] == 1
    assert pools_file_content("postgresql")[WAREHOUSE_POOL]["slots"] == pool.postgres_slots > 1


@pytest.mark.parametrize(
    ("pool", "slots", "error"),
    [
        (WAREHOUSE_POOL, 0, r"postgres_slots"),
        (WAREHOUSE_POOL, 17, r"postgres_slots"),
        ("aftercare_send_sms", 4, r"postgres_slots is the warehouse pool's only"),
    ],
)
def test_postgres_slots_are_checked(
    tmp_path: Path, pool: str, slots: int, error: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = yaml.safe_load((PROJECT_ROOT / "config" / "aftercare.yaml").read_text())
    data["airflow"]["pools"][pool]["postgres_slots"] = slots
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))

    with pytest.raises(ConfigError, match=error):
        load_config(path)


@pytest.mark.parametrize(
    ("connection", "backend"),
    [
        ('{"conn_type": "duckdb", "host": "data/w.duckdb"}', "duckdb"),
        ("postgresql://aftercare@db.example:5432/aftercare", "postgresql"),
    ],
)
def test_bootstrap_sizes_the_pool_for_the_warehouse_connection(
    connection: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aftercare import bootstrap

    monkeypatch.setenv("AIRFLOW_CONN_AFTERCARE_WAREHOUSE", connection)

    assert bootstrap.warehouse_backend() == backend


#: a task's process holding the ledger's section, killed while it holds it
HOLDER = """
import sys, time
import sqlalchemy as sa
from aftercare import warehouse
engine = warehouse.create_engine(sa.make_url(sys.argv[1]))
with warehouse.section(engine, "ledger"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_killed_task_leaves_no_lock_behind(postgres_warehouse: str) -> None:
    import signal
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, postgres_warehouse], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        engine = connections.warehouse_engine()
        with engine.connect() as conn:
            held = conn.exec_driver_sql("select count(*) from pg_locks where locktype = 'advisory'")
            assert held.scalar() == 2  # the whole warehouse (shared) and the section
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)

        entered = threading.Event()

        def take() -> None:
            with warehouse.section(engine, None):  # the whole warehouse: free again
                entered.set()

        taker = threading.Thread(target=take, daemon=True)
        taker.start()
        assert entered.wait(30)
        taker.join(30)
        engine.dispose()
    finally:
        holder.kill()
