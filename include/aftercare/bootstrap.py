"""Prepare an Airflow metadata database for aftercare: migrate it, create the pools from the
config file and, for a local run, the connections: the DuckDB warehouse under data/, the
sandbox's ATS, providers and clock, and a link-signing secret made for this setup.

    python -m aftercare.bootstrap                      # compose init: pools (connections in env)
    python -m aftercare.bootstrap --local-connections  # make demo / make airflow

Idempotent: pools are set to the config's values; local connections are created only where
missing, so a connection you pointed elsewhere (a Postgres warehouse, a real ATS) is kept.
Runs in this process with Airflow's own functions (what ``airflow db migrate``, ``airflow pools
import`` and ``airflow connections import`` call), so Airflow is imported once, not once per step.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
from pathlib import Path

from aftercare import PROJECT_ROOT
from aftercare.config import load_config
from aftercare.connections import (
    ATS,
    CLOCK,
    EMAIL,
    REVIEWS,
    SIGNING,
    SMS,
    SMTP,
    VIDEO,
    WAREHOUSE,
)
from aftercare.dagkit import WAREHOUSE_POOL

log = logging.getLogger(__name__)

#: The local warehouse file (gitignored data folder).
LOCAL_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"


def pools_file_content() -> dict[str, dict[str, object]]:
    """The pools of the config file, in the format of ``airflow pools import``."""
    return {
        name: {"slots": pool.slots, "description": pool.description, "include_deferred": False}
        for name, pool in load_config().airflow.pools.items()
    }


def local_connections(
    sandbox_url: str, warehouse_file: Path = LOCAL_WAREHOUSE, smtp_port: int = 8025
) -> dict[str, dict[str, object]]:
    """The connections of a local run, in the format of ``airflow connections import``: the
    DuckDB warehouse, and the sandbox's ATS, providers and clock with the sandbox's published
    demo credentials."""
    from aftercare.sandbox import SandboxSettings

    sandbox = SandboxSettings()
    ats, twilio, trustpilot = sandbox.ats, sandbox.twilio, sandbox.trustpilot
    host = sandbox_url.split("://", 1)[-1].rsplit(":", 1)[0]

    def http(path: str, what: str, **fields: object) -> dict[str, object]:
        extra = fields.pop("extra", None)
        return {
            "conn_type": "http",
            "host": f"{sandbox_url}{path}",
            **fields,
            **({"extra": json.dumps(extra)} if extra else {}),
            "description": f"the sandbox {what}",
        }

    return {
        WAREHOUSE: {
            "conn_type": "duckdb",
            "host": str(warehouse_file),
            "description": "local DuckDB warehouse (one writer process at a time)",
        },
        ATS: http(
            "/ats",
            "ATS (Bullhorn REST API)",
            login=ats.api_user,
            password=ats.api_password,
            extra={"client_id": ats.client_id, "client_secret": ats.client_secret},
        ),
        EMAIL: http("/sendgrid", "SendGrid API", password=sandbox.sendgrid.api_key),
        SMTP: {
            "conn_type": "smtp",
            "host": host,
            "port": smtp_port,
            "description": "the sandbox SMTP sink",
        },
        SMS: http(
            "/twilio",
            "Twilio API",
            login=twilio.account_sid,
            password=twilio.auth_token,
            extra={"from_number": twilio.from_numbers[0]},
        ),
        VIDEO: http("/video", "video platform", password=sandbox.video.api_key),
        REVIEWS: http(
            "/trustpilot",
            "review platform (Trustpilot API)",
            login=trustpilot.api_key,
            password=trustpilot.api_secret,
            extra={"business_unit_id": trustpilot.business_unit_id},
        ),
        SIGNING: {
            "conn_type": "generic",
            "password": secrets.token_urlsafe(32),
            "description": "signs unsubscribe and referral links (made once per local setup)",
        },
        CLOCK: http("/sandbox/clock", "clock (simulated time for the demo)"),
    }


def check_local_pools() -> None:
    """A DuckDB warehouse admits one writer process: its pool must have one slot."""
    slots = load_config().airflow.pools[WAREHOUSE_POOL].slots
    if slots != 1:
        raise SystemExit(
            f"pool {WAREHOUSE_POOL} has {slots} slots in the config; the local DuckDB "
            "warehouse admits one writer process, so it must have 1"
        )


def create_pools() -> None:
    """Create or update the pools of the config file in the metadata database."""
    from airflow.models.pool import Pool

    for name, pool in pools_file_content().items():
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


def bootstrap(sandbox_url: str | None = None) -> None:
    """Migrate the metadata DB and set the pools; with a sandbox URL, also create the local
    connections that are missing."""
    from airflow.utils import db

    if sandbox_url:
        check_local_pools()
    db.upgradedb()  # what `airflow db migrate` runs: a no-op when the schema is current
    create_pools()
    if sandbox_url:
        create_missing_connections(local_connections(sandbox_url))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m aftercare.bootstrap", description=__doc__)
    parser.add_argument(
        "--local-connections",
        metavar="SANDBOX_URL",
        help="also create the missing local connections: the DuckDB warehouse under data/ and "
        "the sandbox ATS at SANDBOX_URL (e.g. http://127.0.0.1:8765)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    bootstrap(args.local_connections)


if __name__ == "__main__":
    main()
