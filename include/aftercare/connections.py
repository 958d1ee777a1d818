"""The Airflow connection ids the DAGs use: one registry, so bootstrap, docker-compose, the docs
and the tests agree on them; and what the task bodies resolve through Airflow for the stages
(connections, the clock, staging paths), imported inside the functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import Connection, ObjectStoragePath

    from aftercare.dispatch.clock import Clock

WAREHOUSE = "aftercare_warehouse"
ATS = "aftercare_ats"
EMAIL = "aftercare_email"
SMTP = "aftercare_smtp"
SMS = "aftercare_sms"
VIDEO = "aftercare_video"
REVIEWS = "aftercare_reviews"
SIGNING = "aftercare_signing"
CLOCK = "aftercare_clock"

#: conn_id -> what it is for.
CONNECTIONS: dict[str, str] = {
    WAREHOUSE: "the warehouse: a DuckDB file (conn_type duckdb, host = file path) or any "
    "SQLAlchemy database (conn_type postgres, or extra.sqlalchemy_url)",
    ATS: "the ATS (Bullhorn REST API): host = login-info URL, login/password = API user, "
    "extra.client_id / extra.client_secret = OAuth client",
    EMAIL: "SendGrid v3: host = API root (https://api.sendgrid.com), password = API key",
    SMTP: "an SMTP relay, when dispatch.email_transport is smtp: host, port, login, password, "
    "extra.starttls",
    SMS: "Twilio: host = API root (https://api.twilio.com), login = Account SID, password = "
    "auth token, extra.from_number or extra.messaging_service_sid",
    VIDEO: "the video platform: host = API root, password = API key",
    REVIEWS: "the review platform (Trustpilot): host = API root, login/password = API key and "
    "secret, extra.invitations_url, extra.business_unit_id",
    SIGNING: "the secret that signs unsubscribe and referral links: password",
    CLOCK: "optional: a clock service (host = URL answering {now: epoch ms}) instead of the "
    "system clock; the demo and the tests use the sandbox's",
}


def get_connection(conn_id: str) -> Connection:
    """The Airflow connection ``conn_id`` (what the provider and ATS clients are built from)."""
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def clock() -> Clock:
    """The clock of the ``aftercare_clock`` connection, else the system clock."""
    from airflow.exceptions import AirflowNotFoundException

    from aftercare.dispatch.clock import HttpClock, SystemClock

    try:
        connection = get_connection(CLOCK)
    except AirflowNotFoundException:
        return SystemClock()
    return HttpClock(connection.host)


def staging_path(location: str) -> ObjectStoragePath:
    """A path under dispatch's staging root: a URL (an object store's through its Airflow
    connection), or a folder relative to the project."""
    from airflow.sdk import ObjectStoragePath

    from aftercare import PROJECT_ROOT

    if "://" in location:
        return ObjectStoragePath(location)
    return ObjectStoragePath(f"file://{(PROJECT_ROOT / location).resolve()}")
