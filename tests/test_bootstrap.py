"""What bootstrap creates agrees with the config and the connection registry."""

from __future__ import annotations

from aftercare.bootstrap import local_connections, pools_file_content
from aftercare.config import load_config
from aftercare.connections import CONNECTIONS
from aftercare.dagkit import WAREHOUSE_POOL


def test_pools_come_from_the_config() -> None:
    pools = pools_file_content()

    assert set(pools) == set(load_config().airflow.pools)
    assert pools[WAREHOUSE_POOL]["slots"] == 1


def test_local_connections_cover_the_registry() -> None:
    assert set(local_connections()) == set(CONNECTIONS)
