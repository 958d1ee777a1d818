"""Shared fixtures: a private Airflow home, the sandbox, DuckDB and PostgreSQL warehouses.

Airflow reads its settings at import, so `pytest_configure` sets them before anything imports
Airflow: a throwaway AIRFLOW_HOME (SQLite metadata DB), the project's dags/ as DAG folder, and the
test config: the shipped one with tests/config/overrides.yaml merged onto it (fast retries).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from aftercare import DEFAULT_CONFIG
from tests import ROOT, pg, point_connections_at


def _merged(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` laid over it, key by key at every level."""
    merged = dict(base)
    for key, value in overrides.items():
        both_maps = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merged(base[key], value) if both_maps else value
    return merged


def _test_config(home: Path) -> Path:
    shipped = yaml.safe_load(DEFAULT_CONFIG.read_text())
    overrides = yaml.safe_load((ROOT / "tests" / "config" / "overrides.yaml").read_text())
    overrides["quality"] = {"gx_project_dir": str(home / "gx")}
    overrides["dispatch"]["staging_root"] = str(home / "staging")
    overrides["engagement"] = {"report_path": str(home / "report" / "aftercare.html")}
    path = home / "aftercare.yaml"
    path.write_text(yaml.safe_dump(_merged(shipped, overrides)))
    return path


def pytest_configure(config: pytest.Config) -> None:
    home = Path(tempfile.mkdtemp(prefix="aftercare-airflow-home-"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "GX_ANALYTICS_ENABLED": "false",
            "AFTERCARE_CONFIG": str(_test_config(home)),
        }
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long tests (slow, e2e) first, spread over the workers: pytest-xdist's worksteal
    hands each worker a contiguous share of the collection and lets idle workers steal from
    the back of the others' queues, so each share opens with every n-th long test (they start
    at once, side by side) and the short ones fill the time around them."""
    long = [i for i in items if any(i.iter_markers("slow")) or any(i.iter_markers("e2e"))]
    is_long = set(long)
    short = [i for i in items if i not in is_long]
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    ordered: list[pytest.Item] = []
    remaining = len(items)
    for worker in range(workers):
        size = remaining // (workers - worker)  # the share worksteal sends this worker
        share = long[worker::workers]
        fill = max(size - len(share), 0)
        ordered += share + short[:fill]
        short = short[fill:]
        remaining -= len(share) + fill
    items[:] = ordered + short


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ["AIRFLOW_HOME"], ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """An initialised Airflow metadata DB with the pools of the config (for dag.test())."""
    from airflow.utils.db import resetdb

    from aftercare.bootstrap import create_pools

    resetdb()
    create_pools()


@pytest.fixture
def sandbox() -> Iterator[object]:
    """The sandbox on a free port, stopped after the test."""
    from sandbox import SandboxServer, SandboxSettings

    with SandboxServer(SandboxSettings(seed=42)) as server:
        yield server


@pytest.fixture
def provider_connections(sandbox: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """The sandbox, with every connection but the warehouse's pointing at it (as the demo's)."""
    point_connections_at(sandbox, monkeypatch)
    return sandbox


@pytest.fixture
def preferences_service(
    provider_connections: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SimpleNamespace]:
    """The preferences service beside the sandbox (`tests.test_preferences.serving`)."""
    from tests.test_preferences import serving

    with serving(provider_connections, tmp_path, monkeypatch) as service:
        yield service


def _set_warehouse(monkeypatch: pytest.MonkeyPatch, connection: dict[str, object] | str) -> None:
    value = connection if isinstance(connection, str) else json.dumps(connection)
    monkeypatch.setenv("AIRFLOW_CONN_AFTERCARE_WAREHOUSE", value)


@pytest.fixture
def duckdb_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The aftercare_warehouse connection pointed at a fresh DuckDB file."""
    path = tmp_path / "warehouse.duckdb"
    _set_warehouse(monkeypatch, {"conn_type": "duckdb", "host": str(path)})
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg.PostgresServer]:
    """A throwaway PostgreSQL server for the session (or AFTERCARE_TEST_POSTGRES_URL)."""
    with pg.server() as server:
        yield server


@pytest.fixture
def postgres_warehouse(
    postgres_server: pg.PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The aftercare_warehouse connection pointed at a fresh Postgres database."""
    with postgres_server.database() as uri:
        _set_warehouse(monkeypatch, uri)
        yield uri


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_engine(request: pytest.FixtureRequest) -> Iterator[object]:
    """An engine on a fresh warehouse, once on DuckDB and once on Postgres."""
    from aftercare import connections

    request.getfixturevalue(f"{request.param}_warehouse")
    engine = connections.warehouse_engine()
    yield engine
    engine.dispose()
