"""What bootstrap creates agrees with the config and the connection registry, and it runs:
against a scratch Airflow home, twice, keeping a connection the user changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aftercare.bootstrap import pools_file_content
from aftercare.config import load_config
from aftercare.connections import CONNECTIONS, WAREHOUSE
from aftercare.names import WAREHOUSE_POOL
from sandbox.bootstrap import local_connections


def test_pools_come_from_the_config() -> None:
    pools = pools_file_content()

    assert set(pools) == set(load_config().airflow.pools)
    assert pools[WAREHOUSE_POOL]["slots"] == 1


def test_local_connections_cover_the_registry() -> None:
    connections = local_connections("http://127.0.0.1:8765")

    assert set(connections) == set(CONNECTIONS)
    assert connections["aftercare_ats"]["host"] == "http://127.0.0.1:8765/ats"


#: Run in a second process on the scratch home (Airflow binds its home at import): what the
#: first bootstrap made, then the user points the warehouse elsewhere and bootstraps again.
AGAIN = """
import json, sys
from airflow.models.connection import Connection
from airflow.models.pool import Pool
from airflow.utils.session import create_session
from sandbox import bootstrap

slots = {pool.pool: pool.slots for pool in Pool.get_pools()}
with create_session() as session:
    session.query(Connection).filter(Connection.conn_id == sys.argv[1]).delete()
    session.add(Connection(conn_id=sys.argv[1], uri="postgresql://etl@db:5432/wh"))
bootstrap.main(["http://127.0.0.1:9"])
kept = Connection.get_connection_from_secrets(sys.argv[1])
print(json.dumps({"slots": slots, "kept": [kept.conn_type, kept.host]}))
"""


@pytest.mark.slow
def test_bootstrap_on_a_scratch_airflow_home(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}

    def run(*argv: str) -> str:
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout

    run(sys.executable, "-m", "sandbox.bootstrap", "http://127.0.0.1:9")
    found = json.loads(run(sys.executable, "-c", AGAIN, WAREHOUSE).splitlines()[-1])

    assert found["slots"][WAREHOUSE_POOL] == 1
    assert set(found["slots"]) >= set(pools_file_content())
    # the user pointed the warehouse elsewhere; bootstrapping again kept it
    assert found["kept"] == ["postgres", "db"]


def test_duckdb_pool_must_have_one_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox import bootstrap

    config = tmp_path / "c.yaml"
    text = Path(os.environ["AFTERCARE_CONFIG"]).read_text().replace("slots: 1", "slots: 4")
    config.write_text(text)
    monkeypatch.setenv("AFTERCARE_CONFIG", str(config))

    with pytest.raises(SystemExit, match="must have 1"):
        bootstrap.check_local_pools()
