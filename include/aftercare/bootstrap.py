"""Prepare an Airflow metadata database for aftercare: migrate it and create the pools from the
config file (connections come from the environment or your secrets backend; the local sandbox's
are made by ``python -m sandbox.bootstrap``).

    python -m aftercare.bootstrap

Idempotent: pools are set to the config's values. Runs in this process with Airflow's own
functions (what ``airflow db migrate`` and ``airflow pools import`` call), so Airflow is imported
once, not once per step.
"""

from __future__ import annotations

import argparse
import logging

from aftercare.config import load_config

log = logging.getLogger(__name__)


def pools_file_content(warehouse: str = "duckdb") -> dict[str, dict[str, object]]:
    """The pools of the config file, in the format of ``airflow pools import``, for a warehouse
    of backend ``warehouse`` (duckdb, postgresql: the warehouse pool's slots follow it)."""
    return {
        name: {
            "slots": pool.slots_for(warehouse),
            "description": pool.description,
            "include_deferred": False,
        }
        for name, pool in load_config().airflow.pools.items()
    }


def warehouse_backend() -> str:
    """The backend of the warehouse connection; duckdb while it is not defined (the local setup
    adds it after the pools): the one-slot choice, safe on any warehouse."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    from aftercare.connections import WAREHOUSE, url_from_connection

    try:
        connection = Connection.get_connection_from_secrets(WAREHOUSE)
    except AirflowNotFoundException:
        return "duckdb"
    return url_from_connection(connection).get_backend_name()


def create_pools() -> None:
    """Create or update the pools of the config file in the metadata database, the warehouse
    pool sized for the warehouse connection's backend."""
    from airflow.models.pool import Pool

    for name, pool in pools_file_content(warehouse_backend()).items():
        Pool.create_or_update_pool(name, **pool)
        log.info("pool %s: %s slots", name, pool["slots"])


def create_missing_connections(connections: dict[str, dict[str, object]]) -> None:
    """Add the connections whose ids the metadata database lacks; existing ones are kept."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        existing = set(session.scalars(select(Connection.conn_id)))
        for conn_id, fields in connections.items():
            if conn_id in existing:
                log.info("connection %s: kept as it is", conn_id)
            else:
                session.add(Connection(conn_id=conn_id, **fields))
                log.info("connection %s: created", conn_id)


def bootstrap() -> None:
    """Migrate the metadata DB and set the pools."""
    from airflow.utils import db

    db.upgradedb()  # what `airflow db migrate` runs: a no-op when the schema is current
    create_pools()


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(prog="python -m aftercare.bootstrap", description=__doc__).parse_args(
        argv
    )
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    bootstrap()


if __name__ == "__main__":
    main()
