"""The Airflow connection ids the DAGs use: one registry, so bootstrap, docker-compose, the docs
and the tests agree on them; and what turns them into what the stages need, through Airflow
(an engine, the ATS client, the providers' connections, the clock, staging paths): Airflow and
the heavy modules are imported inside the functions, which run in tasks and command-line tools,
not when a DAG file is parsed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aftercare.names import WAREHOUSE_POOL

if TYPE_CHECKING:
    from airflow.sdk import Connection as AirflowConnection
    from airflow.sdk import ObjectStoragePath
    from sqlalchemy.engine import URL, Connection, Engine

    from aftercare.ats import Ats
    from aftercare.config import Config
    from aftercare.dispatch.clock import Clock
    from aftercare.warehouse import ReadEngines

WAREHOUSE = "aftercare_warehouse"
ATS = "aftercare_ats"
EMAIL = "aftercare_email"
SMTP = "aftercare_smtp"
SMS = "aftercare_sms"
REVIEWS = "aftercare_reviews"
SIGNING = "aftercare_signing"
CLOCK = "aftercare_clock"
ERASURE = "aftercare_erasure"
PREFERENCES = "aftercare_preferences"

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
    REVIEWS: "the review platform (Trustpilot): host = API root, login/password = API key and "
    "secret, extra.invitations_url, extra.business_unit_id",
    SIGNING: "the secret that signs unsubscribe, referral and video page links: password",
    ERASURE: "the salt of the erasure hashes (who was erased, kept as salted hashes): password, "
    "made once and never changed (a new salt forgets who was erased)",
    PREFERENCES: "the candidates' preferences service (its event feed, and the video pages "
    "dispatch registers): host = the service's URL, "
    "password = its feed token (the service's AFTERCARE_PREFERENCES_FEED_TOKEN)",
    CLOCK: "optional: a clock service (host = URL answering {now: epoch ms}) instead of the "
    "system clock; the demo and the tests use the sandbox's",
}


# --------------------------------------------------------------------------------------------
# the connections turned into what the stages work on (an engine, the ATS client), so that the
# stages take those and plain values. Heavy modules are imported inside the functions, which run
# in tasks and command-line tools, not when a DAG file is parsed.


def url_from_connection(conn: Any) -> URL:
    """The SQLAlchemy URL of an Airflow connection (duckdb, postgres, or extra.sqlalchemy_url)."""
    import sqlalchemy as sa
    from sqlalchemy.engine import URL

    from aftercare import PROJECT_ROOT
    from aftercare.warehouse import WarehouseError

    extra = conn.extra_dejson or {}
    if extra.get("sqlalchemy_url"):
        return sa.make_url(extra["sqlalchemy_url"])
    conn_type = (conn.conn_type or "").lower()
    if conn_type == "duckdb":
        if not conn.host:
            raise WarehouseError(
                f"connection {conn.conn_id!r}: a duckdb connection needs the database file "
                "path in its host field"
            )
        path = Path(conn.host)
        path = path if path.is_absolute() else PROJECT_ROOT / path
        return URL.create("duckdb", database=str(path))
    if conn_type in ("postgres", "postgresql"):
        # the connection's extras are libpq options (sslmode, connect_timeout, ...)
        return URL.create(
            "postgresql+psycopg2",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
            query={key: str(value) for key, value in extra.items()},
        )
    raise WarehouseError(
        f"connection {conn.conn_id!r} has conn_type {conn.conn_type!r}; use duckdb, postgres, "
        "or set extra.sqlalchemy_url"
    )


def warehouse_engine() -> Engine:
    """An engine for the warehouse connection. Dispose of it when done (see `open_warehouse`)."""
    return engine_for(get_connection(WAREHOUSE))


def engine_for(conn: Any) -> Engine:
    """An engine for an Airflow connection object (see `url_from_connection`). A DuckDB
    connection's extras are DuckDB settings, e.g. ``{"threads": 1, "memory_limit": "1GB"}``."""
    from aftercare import warehouse

    url = url_from_connection(conn)
    if url.get_backend_name() != "duckdb":
        return warehouse.create_engine(url)
    _require_warehouse_pool()
    settings = {k: v for k, v in (conn.extra_dejson or {}).items() if k != "sqlalchemy_url"}
    return warehouse.create_engine(url, duckdb_settings=settings)


def _require_warehouse_pool() -> None:
    """Inside an Airflow task, a DuckDB warehouse may only be opened from the warehouse pool
    (DuckDB allows one writer process at a time)."""
    from airflow.sdk import get_current_context

    from aftercare.warehouse import WarehouseError

    try:
        context = get_current_context()
    except RuntimeError:  # not inside a task: CLI, demo, tests
        return
    task = context["task"]
    if task.pool != WAREHOUSE_POOL:
        raise WarehouseError(
            f"task {task.task_id!r} opens the DuckDB warehouse but runs in pool {task.pool!r}; "
            f"warehouse tasks must run in pool {WAREHOUSE_POOL!r} (DuckDB allows one writer "
            "process at a time)"
        )


@contextmanager
def open_warehouse(*, publish: bool = True) -> Iterator[Engine]:
    """An engine on the warehouse connection for a task's work, disposed of afterwards (which
    releases DuckDB's file lock). On DuckDB, work that ends without an error publishes the
    warehouse's snapshot for readers first, while still its one writer
    (`aftercare.warehouse.publish_snapshot`), unless ``publish`` is false: a task always
    followed by one that publishes (dispatch's prepare, by its fold) leaves it to that one (a
    large warehouse's copy takes seconds)."""
    from aftercare import warehouse

    engine = warehouse_engine()
    try:
        yield engine
        if publish:
            warehouse.publish_snapshot(engine)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class ReadWarehouse:
    """The warehouse as readers see it: ``engine`` (to read only) and ``as_of``, the instant the
    DuckDB snapshot it reads was published (UTC), or None: live (Postgres)."""

    engine: Engine
    as_of: datetime | None


@contextmanager
def read_warehouse() -> Iterator[ReadWarehouse]:
    """The warehouse for a reader that must not wait for (nor block) the tasks, such as the ops
    console in the api-server: on DuckDB its published snapshot, read-only (whatever task holds
    the warehouse's write lock meanwhile; `aftercare.warehouse.SnapshotMissing` before the first
    is published), else the warehouse itself, live. The engine is kept for the next read (one
    per snapshot file: `aftercare.warehouse.ReadEngines`): never dispose of it."""
    url = url_from_connection(get_connection(WAREHOUSE))
    engine, as_of = _read_engines().get(url)
    yield ReadWarehouse(engine, as_of)


@cache
def _read_engines() -> ReadEngines:
    """This process's read engines (the api-server's workers each keep their own)."""
    from aftercare.warehouse import ReadEngines

    return ReadEngines()


@contextmanager
def warehouse_transaction() -> Iterator[Connection]:
    """One transaction on the warehouse connection (`aftercare.warehouse.transaction`), its
    engine disposed of afterwards."""
    from aftercare import warehouse

    with open_warehouse() as engine, warehouse.transaction(engine) as conn:
        yield conn


def open_ats(config: Config) -> Ats:
    """The ATS of the ``aftercare_ats`` connection (the extract's, and dispatch's for call
    tasks)."""
    from aftercare.ats.bullhorn import BullhornAts, BullhornCredentials

    return BullhornAts(BullhornCredentials.from_connection(get_connection(ATS)), config.ats)


def get_connection(conn_id: str) -> AirflowConnection:
    """The Airflow connection ``conn_id`` (what the provider and ATS clients are built from)."""
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def erasure_salt() -> str:
    """The salt of the erasure hashes (connection aftercare_erasure)."""
    return get_connection(ERASURE).password


def has_connection(conn_id: str) -> bool:
    """Whether the connection ``conn_id`` is defined (for the optional ones)."""
    from airflow.exceptions import AirflowNotFoundException

    try:
        get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


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
