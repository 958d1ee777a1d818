"""What bootstrap creates agrees with the config and the connection registry, and it runs:
against a scratch Airflow home, twice, keeping a connection the user changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aftercare.bootstrap import local_connections, pools_file_content
from aftercare.config import load_config
from aftercare.connections import CONNECTIONS, WAREHOUSE
from aftercare.dagkit import WAREHOUSE_POOL


def test_pools_come_from_the_config() -> None:
    pools = pools_file_content()

    assert set(pools) == set(load_config().airflow.pools)
    assert pools[WAREHOUSE_POOL]["slots"] == 1


def test_local_connections_cover_the_registry() -> None:
    connections = local_connections("http://127.0.0.1:8765")

    assert set(connections) == set(CONNECTIONS)
    assert connections["aftercare_ats"]["host"] == "http://127.0.0.1:8765/ats"


def test_bootstrap_on_a_scratch_airflow_home(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }

    def run(*argv: str) -> str:
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout

    bootstrap = [
        sys.executable,
        "-m",
        "aftercare.bootstrap",
        "--local-connections",
        "http://127.0.0.1:9",
    ]
    run(*bootstrap)
    pools = json.loads(run("airflow", "pools", "list", "-o", "json"))
    assert {p["pool"]: int(p["slots"]) for p in pools}[WAREHOUSE_POOL] == 1
    # the user points the warehouse elsewhere; bootstrapping again keeps it
    run("airflow", "connections", "delete", WAREHOUSE)
    run("airflow", "connections", "add", WAREHOUSE, "--conn-uri", "postgresql://etl@db:5432/wh")
    run(*bootstrap)
    kept = json.loads(run("airflow", "connections", "get", WAREHOUSE, "-o", "json"))[0]
    assert (kept["conn_type"], kept["host"]) == ("postgres", "db")


def test_duckdb_pool_must_have_one_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aftercare import bootstrap

    config = tmp_path / "c.yaml"
    text = Path(os.environ["AFTERCARE_CONFIG"]).read_text().replace("slots: 1", "slots: 4")
    config.write_text(text)
    monkeypatch.setenv("AFTERCARE_CONFIG", str(config))

    with pytest.raises(SystemExit, match="must have 1"):
        bootstrap.check_local_pools()
