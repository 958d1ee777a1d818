"""The warehouse door: connections to URLs, the sql-file runner, the DuckDB single-writer guard
(the connection side in `aftercare.connections`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from airflow.sdk import Connection

from aftercare import PROJECT_ROOT, connections, warehouse
from aftercare.connections import warehouse_transaction
from aftercare.names import WAREHOUSE_POOL


def test_duckdb_connection_takes_the_file_from_host() -> None:
    url = connections.url_from_connection(
        Connection(conn_id="w", conn_type="duckdb", host="data/w.duckdb")
    )

    assert url.drivername == "duckdb"
    assert url.database == str(PROJECT_ROOT / "data" / "w.duckdb")


def test_postgres_connection_builds_a_psycopg2_url() -> None:
    conn = Connection.from_uri("postgresql://etl:s%40cret@db.example:5433/warehouse", conn_id="w")

    url = connections.url_from_connection(conn)

    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg2",
        "etl",
        "s@cret",
        "db.example",
        5433,
        "warehouse",
    )


def test_postgres_extras_become_libpq_options() -> None:
    conn = Connection.from_uri(
        "postgresql://etl@db.example/warehouse?sslmode=require&connect_timeout=5", conn_id="w"
    )

    assert dict(connections.url_from_connection(conn).query) == {
        "sslmode": "require",
        "connect_timeout": "5",
    }


def test_extra_sqlalchemy_url_wins_and_unknown_types_are_refused() -> None:
    conn = Connection(
        conn_id="w", conn_type="generic", extra='{"sqlalchemy_url": "sqlite:///x.db"}'
    )
    assert connections.url_from_connection(conn).drivername == "sqlite"

    with pytest.raises(warehouse.WarehouseError, match="conn_type 'mysql'"):
        connections.url_from_connection(Connection(conn_id="w", conn_type="mysql", host="h"))
    with pytest.raises(warehouse.WarehouseError, match="needs the database file path"):
        connections.url_from_connection(Connection(conn_id="w", conn_type="duckdb"))


def test_template_variables_must_be_identifiers() -> None:
    rendered = warehouse.render("record/warehouse_counts.sql", "duckdb", table="staging.placements")
    assert len(rendered.statements) == 1

    with pytest.raises(warehouse.WarehouseError, match="not an identifier"):
        warehouse.render("record/warehouse_counts.sql", "duckdb", table="x; drop table y")
    with pytest.raises(warehouse.WarehouseError, match="unsupported warehouse dialect"):
        warehouse.render("record/warehouse_counts.sql", "oracle")


def test_dialect_types_and_comment_only_statements() -> None:
    assert "jsonb" in warehouse.render("migrations/0003_quality.sql", "postgresql").statements[0]
    assert " json " in warehouse.render("migrations/0003_quality.sql", "duckdb").statements[0]
    # the advisory lock exists only on postgres; on duckdb the file renders to no statement
    assert warehouse.render("warehouse/lock_migrations.sql", "duckdb").statements == ()
    assert len(warehouse.render("warehouse/lock_migrations.sql", "postgresql").statements) == 1


def test_values_travel_as_bound_parameters(duckdb_warehouse: Path) -> None:
    hostile = "Robert'); drop table aftercare.run_summaries; --"
    with connections.open_warehouse() as engine:
        warehouse.migrate(engine)
    with warehouse_transaction() as conn:
        warehouse.execute_file(
            conn,
            "record/upsert_run_summary.sql",
            {"dag_id": "d", "run_id": hostile, "run_date": "2026-11-26", "counts": "{}"},
        )
        rows = warehouse.query_file(conn, "record/run_summaries.sql", {"dag_id": "d", "limit": 5})
    assert [row["run_id"] for row in rows] == [hostile]


def test_duckdb_refused_from_a_task_outside_the_warehouse_pool(
    duckdb_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import airflow.sdk

    def context(pool: str) -> dict[str, object]:
        return {"task": SimpleNamespace(task_id="send_sms", pool=pool)}

    monkeypatch.setattr(airflow.sdk, "get_current_context", lambda: context("default_pool"))
    with pytest.raises(warehouse.WarehouseError, match="must run in pool 'aftercare_warehouse'"):
        connections.warehouse_engine()

    monkeypatch.setattr(airflow.sdk, "get_current_context", lambda: context(WAREHOUSE_POOL))
    connections.warehouse_engine().dispose()


def test_locked_duckdb_file_gives_a_clear_error(duckdb_warehouse: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " time.sleep(60)",
            str(duckdb_warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(warehouse.WarehouseError, match="locked by another process"):
            with warehouse_transaction() as conn:
                conn.execute(sa.text("select 1"))
    finally:
        holder.kill()
        holder.wait()


def test_json_records_leave_no_file_behind_a_killed_task(tmp_path: Path) -> None:
    """The rows bound for DuckDB hold names, emails and numbers: while they are read, no file
    of theirs has a name in the temporary directory, and none is left when the task is killed
    with SIGKILL mid-statement."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    script = """
import sys, time
import sqlalchemy as sa
from aftercare import warehouse
rows = [{"id": 7, "email": "ana@example.com"}, {"id": 8, "email": None}]
with sa.create_engine("duckdb:///:memory:").connect() as conn:
    with warehouse.json_records(conn, rows) as bound:
        read = conn.execute(
            sa.text("select id, email from read_json(:rows, format = 'array',"
                    " columns = {'id': 'bigint', 'email': 'varchar'}) order by id"),
            {"rows": bound},
        ).all()
        print([tuple(row) for row in read], flush=True)
        time.sleep(60)
"""
    task = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    try:
        assert task.stdout.readline().strip() == "[(7, 'ana@example.com'), (8, None)]"
        assert list(temporary.iterdir()) == []
    finally:
        task.kill()
        task.wait()
    assert list(temporary.iterdir()) == []


def test_query_file_wants_one_statement(duckdb_warehouse: Path) -> None:
    with pytest.raises(warehouse.WarehouseError, match="expects one statement, found 6"):
        with warehouse_transaction() as conn:
            warehouse.query_file(conn, "migrations/0001_schemas.sql")


def test_duckdb_extras_are_duckdb_settings(tmp_path: Path) -> None:
    conn = Connection(
        conn_id="w", conn_type="duckdb", host=str(tmp_path / "w.duckdb"), extra='{"threads": 1}'
    )
    engine = connections.engine_for(conn)
    try:
        with engine.connect() as c:
            assert c.exec_driver_sql("select current_setting('threads')").scalar() == 1
    finally:
        engine.dispose()


def test_postgres_sessions_run_with_jit_off(postgres_warehouse: str) -> None:
    # the database turns jit on (as a server's default does); the warehouse's sessions, not
    url = sa.make_url(postgres_warehouse)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"alter database {url.database} set jit = on")
    engines = {
        "plain": sa.create_engine(url),
        "warehouse": warehouse.create_engine(url),
        "asked for": warehouse.create_engine(url.update_query_dict({"options": "-c jit=on"})),
    }
    try:
        found = {}
        for name, engine in engines.items():
            with engine.connect() as conn:
                found[name] = conn.exec_driver_sql("show jit").scalar()
    finally:
        for engine in [admin, *engines.values()]:
            engine.dispose()

    assert found == {"plain": "on", "warehouse": "off", "asked for": "on"}
