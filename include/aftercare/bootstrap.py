"""Prepare an Airflow metadata database for aftercare: migrate it, create the pools from the
config file and, for a local run, the connections pointing at the DuckDB warehouse.

    python -m aftercare.bootstrap                      # compose init: pools (connections in env)
    python -m aftercare.bootstrap --local-connections  # make demo / make airflow

Idempotent: pools and connections are overwritten with the values given, nothing else changes.
Uses the Airflow CLI (the public interface to the metadata database).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import tempfile
from pathlib import Path

from aftercare import PROJECT_ROOT
from aftercare.config import load_config
from aftercare.connections import WAREHOUSE

log = logging.getLogger(__name__)

#: The local warehouse file (gitignored data folder).
LOCAL_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"


def pools_file_content() -> dict[str, dict[str, object]]:
    """The pools of the config file, in the format of ``airflow pools import``."""
    return {
        name: {"slots": pool.slots, "description": pool.description, "include_deferred": False}
        for name, pool in load_config().airflow.pools.items()
    }


def local_connections(warehouse_file: Path = LOCAL_WAREHOUSE) -> dict[str, dict[str, object]]:
    """The connections of a local run, in the format of ``airflow connections import``."""
    return {
        WAREHOUSE: {
            "conn_type": "duckdb",
            "host": str(warehouse_file),
            "description": "local DuckDB warehouse (one writer process at a time)",
        },
    }


def _airflow(*args: str) -> None:
    log.info("airflow %s", " ".join(args))
    subprocess.run(["airflow", *args], check=True, stdout=subprocess.DEVNULL)


def _import_json(kind: str, content: dict[str, dict[str, object]], *flags: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(content, handle)
    try:
        _airflow(kind, "import", *flags, handle.name)
    finally:
        os.unlink(handle.name)


def bootstrap(local_connections_too: bool) -> None:
    _airflow("db", "migrate")
    _import_json("pools", pools_file_content())
    if local_connections_too:
        _import_json("connections", local_connections(), "--overwrite")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m aftercare.bootstrap", description=__doc__)
    parser.add_argument(
        "--local-connections",
        action="store_true",
        help="also create the local connections (DuckDB warehouse under data/)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    bootstrap(args.local_connections)


if __name__ == "__main__":
    main()
