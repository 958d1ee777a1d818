"""The local setup's Airflow: what ``aftercare.bootstrap`` prepares (metadata database, pools),
plus the connections of a local run: the DuckDB warehouse under data/, the sandbox's ATS,
providers and clock, a link-signing secret made for this setup, and the feed of the
preferences service the demo starts.

    python -m sandbox.bootstrap SANDBOX_URL     # what make demo and make airflow run

Idempotent: local connections are created only where missing, so a connection you pointed
elsewhere (a Postgres warehouse, a real ATS) is kept.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
from pathlib import Path

from aftercare import PROJECT_ROOT, bootstrap
from aftercare.config import load_config
from aftercare.connections import (
    ATS,
    CLOCK,
    EMAIL,
    ERASURE,
    PREFERENCES,
    REVIEWS,
    SIGNING,
    SMS,
    SMTP,
    WAREHOUSE,
)
from aftercare.names import WAREHOUSE_POOL
from sandbox.app import SandboxSettings

#: Where the demo runs the candidates' preferences service (python -m aftercare.preferences).
PREFERENCES_PORT = 8090
#: The local warehouse file (gitignored data folder).
LOCAL_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"


def local_connections(
    sandbox_url: str,
    warehouse_file: Path = LOCAL_WAREHOUSE,
    smtp_port: int = 8025,
    preferences_port: int = PREFERENCES_PORT,
) -> dict[str, dict[str, object]]:
    """The connections of a local run, in the format of ``airflow connections import``: the
    DuckDB warehouse, the sandbox's ATS, providers and clock with the sandbox's published
    demo credentials, and the feed of the preferences service the demo runs beside it (its
    feed token, like the signing secret, made for this setup)."""
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
            "description": "signs the unsubscribe, referral and video page links (one per setup)",
        },
        ERASURE: {
            "conn_type": "generic",
            "password": secrets.token_urlsafe(32),
            "description": "salts the hashes of erased candidates (made once per local setup)",
        },
        CLOCK: http("/sandbox/clock", "clock (simulated time for the demo)"),
        PREFERENCES: {
            "conn_type": "http",
            "host": f"http://{host}:{preferences_port}",
            "password": secrets.token_urlsafe(32),
            "description": "the preferences service: its feed and video pages (the demo starts it)",
        },
    }


def check_local_pools() -> None:
    """A DuckDB warehouse admits one writer process: its pool must have one slot."""
    slots = load_config().airflow.pools[WAREHOUSE_POOL].slots
    if slots != 1:
        raise SystemExit(
            f"pool {WAREHOUSE_POOL} has {slots} slots in the config; the local DuckDB "
            "warehouse admits one writer process, so it must have 1"
        )


def bootstrap_local(sandbox_url: str) -> None:
    """Bootstrap Airflow for a local run against the sandbox at ``sandbox_url``."""
    check_local_pools()
    bootstrap.bootstrap()
    bootstrap.create_missing_connections(local_connections(sandbox_url))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.bootstrap", description=__doc__)
    parser.add_argument("sandbox_url", help="the sandbox, e.g. http://127.0.0.1:8765")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    bootstrap_local(args.sandbox_url)


if __name__ == "__main__":
    main()
