"""The one door to the warehouse.

* `create_engine()` builds a SQLAlchemy engine for a URL: a DuckDB file by default, Postgres, or
  any SQLAlchemy database (`aftercare.connections` turns the Airflow connection
  ``aftercare_warehouse`` into one).
* `transaction()` opens one transaction on an engine (on one snapshot when asked); whoever
  built the engine disposes of it (DuckDB holds a file lock while an engine is open, so nothing
  stays open between tasks).
* `execute_file()` / `query_file()` run a ``.sql`` file from ``sql/``. Jinja fills in
  identifiers and config only (checked); values are always bound parameters.
* `migrate()` applies ``sql/migrations/NNNN_name.sql`` in order, once each, recorded in
  ``aftercare.schema_migrations``; on Postgres an advisory lock makes concurrent runs safe.
  Versions need not follow one another: there is no 0023 (two branches in flight took 0022
  and 0024, and warehouses have recorded 0024 under its number since, so it is not renamed).
  A new migration takes the number after the highest, never a gap's: a warehouse that has
  applied a later one refuses it (it would run after that one there, before it elsewhere).
* `publish_snapshot()` copies a DuckDB warehouse, checkpointed, to its snapshot file
  (``<stem>.snapshot.duckdb`` beside it), atomically; `open_snapshot()` opens that copy
  read-only: what the ops console reads while a task holds the warehouse's write lock
  (`ReadEngines` keeps one engine per snapshot file between its requests).

DuckDB allows one writer *process* at a time. Every task that touches the warehouse therefore
runs in the Airflow pool ``aftercare_warehouse`` (one slot on DuckDB), and
`aftercare.connections.warehouse_engine` refuses a DuckDB warehouse from a task outside that
pool, so the rule cannot be broken by accident. On Postgres the pool may have more slots, and
`section()` keeps apart the tasks that must not run together: each warehouse task holds the
warehouse's advisory lock, exclusively unless it names a critical section, then shared, with
its section's own lock exclusively (`aftercare.dagkit.warehouse_task`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa
import sqlparse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined
from sqlalchemy.engine import URL, Connection, Engine
from sqlparse.tokens import Token

from aftercare import SQL_DIR

log = logging.getLogger(__name__)

MIGRATIONS_DIR = "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Arbitrary constant shared by every process that migrates (pg_advisory_xact_lock key).
_MIGRATION_LOCK_KEY = 0x0AF7E4CA4E
#: The advisory lock every warehouse task holds on Postgres (`section`): exclusively, unless
#: the task names a critical section.
WHOLE_WAREHOUSE = "warehouse"
#: Session settings of every Postgres warehouse connection (libpq ``options``; a URL's own
#: ``options`` come after, so they win). jit off: the plan's statements over temporary tables
#: (no statistics, so estimates far above jit_above_cost) compile for seconds to save
#: milliseconds; with jit on, a night at 100,000 placements took 4 to 9 times as long
#: (benchmarks/postgres_benchmark.py --jit; docs/running-at-scale.md).
POSTGRES_OPTIONS = "-c jit=off"

# Column types that differ between dialects; migrations use {{ types.json }} etc.
_TYPES = {
    "duckdb": {"json": "json"},
    "postgresql": {"json": "jsonb"},
}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class WarehouseError(RuntimeError):
    """The warehouse is misconfigured, busy, or a migration cannot be applied."""


class SnapshotMissing(WarehouseError):
    """A DuckDB warehouse's snapshot has not been published yet (no warehouse task has finished
    since the warehouse was made)."""


# --------------------------------------------------------------------------------------------
# engine


def create_engine(url: URL, duckdb_settings: Mapping[str, Any] | None = None) -> Engine:
    """An engine for the warehouse at ``url``; a DuckDB file takes ``duckdb_settings``, e.g.
    ``{"threads": 1, "memory_limit": "1GB"}``. Dispose of it when done (see `transaction`)."""
    if url.get_backend_name() == "duckdb":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        config = dict(duckdb_settings or {})
        return sa.create_engine(url, connect_args={"config": config}, hide_parameters=True)
    # hide_parameters: error messages (and so task logs) never carry bound values, which hold
    # names, emails and phone numbers
    options = " ".join(filter(None, (POSTGRES_OPTIONS, url.query.get("options"))))
    return sa.create_engine(
        url, pool_pre_ping=True, hide_parameters=True, connect_args={"options": options}
    )


@contextmanager
def transaction(engine: Engine, *, snapshot: bool = False) -> Iterator[Connection]:
    """One transaction on the warehouse; commits on success, rolls back on error. With
    ``snapshot``, every statement reads the warehouse as it was at the first, whatever other
    tasks commit meanwhile (Postgres's repeatable read; a DuckDB transaction always does)."""
    snapshot_read = snapshot and engine.dialect.name == "postgresql"
    options = {"isolation_level": "REPEATABLE READ"} if snapshot_read else {}
    try:
        with engine.connect().execution_options(**options) as conn, conn.begin():
            yield conn
    except sa.exc.OperationalError as exc:
        if "Could not set lock" in str(exc.orig):
            raise WarehouseError(
                "the DuckDB warehouse file is locked by another process (a second `make demo` "
                "or `make airflow`, a DuckDB shell; see docs/architecture.md, 'One writer to "
                "the warehouse at a time'): "
                f"{str(exc.orig).splitlines()[0]}"
            ) from exc
        raise


@contextmanager
def json_records(conn: Connection, rows: list[dict[str, Any]]) -> Iterator[str]:
    """``rows`` (JSON-ready objects) as the value to bind for the ``m.json_records`` macro: on
    DuckDB the path of their JSON in a temporary file, which its ``read_json`` reads in half
    the time it takes to cast the same text bound as a string (3.5 against 7.2 us a candidate
    row); elsewhere the JSON text. The rows hold names, emails and numbers, so the file never
    has a name in the file system (``tempfile.TemporaryFile``: unlinked, or never linked, at
    once); DuckDB opens it through this process's descriptor (``/dev/fd/N``). It goes when
    the block ends, and with the process however that ends (a SIGKILLed task included).
    Bind and run in the block."""
    data = msgspec.json.encode(rows)
    if conn.dialect.name != "duckdb":
        yield data.decode()
        return
    with tempfile.TemporaryFile() as file:
        file.write(data)
        file.flush()
        yield f"/dev/fd/{file.fileno()}"


# --------------------------------------------------------------------------------------------
# critical sections: which warehouse tasks may run together on Postgres


def lock_key(name: str) -> int:
    """The advisory lock key (a signed 64-bit integer) of a critical section's name."""
    return int.from_bytes(hashlib.sha256(f"aftercare:{name}".encode()).digest()[:8], signed=True)


@contextmanager
def section(engine: Engine, name: str | None = None) -> Iterator[None]:
    """Hold the warehouse for a task's work. On Postgres: without ``name`` the whole warehouse
    (an exclusive advisory lock on `WHOLE_WAREHOUSE`: no other warehouse task runs meanwhile,
    as on DuckDB); with a ``name``, that lock shared (beside other named sections, never beside
    a task holding the whole warehouse) and the section's own lock exclusively (never beside
    another task of the same section). Session locks on a connection of their own, waited for
    (logged when another task holds them) and released at the end, or by the server when the
    process dies and its connection drops; taken in one order, so no two tasks deadlock. On
    DuckDB nothing is taken: its file admits one writer process, and the pool one task."""
    if engine.dialect.name != "postgresql":
        yield
        return
    locks = [(WHOLE_WAREHOUSE, name is not None)]
    if name is not None:
        locks.append((name, False))
    with engine.connect() as conn:
        try:
            for lock, shared in locks:
                params = {"lock_key": lock_key(lock)}
                taken = query_file(conn, "warehouse/try_lock.sql", params, shared=shared)
                if not taken[0]["locked"]:
                    log.info("waiting for the warehouse lock %r (another task holds it)", lock)
                    execute_file(conn, "warehouse/lock.sql", params, shared=shared)
                    log.info("warehouse lock %r taken", lock)
                conn.commit()  # a session lock outlives the transaction; none stays open
            yield
        finally:
            conn.rollback()
            execute_file(conn, "warehouse/unlock_all.sql")
            conn.commit()


# --------------------------------------------------------------------------------------------
# the snapshot readers see of a DuckDB warehouse (a process cannot open a DuckDB file at all,
# not even read-only, while another holds its write lock)


def snapshot_path(database: str | Path) -> Path:
    """The snapshot file of the DuckDB warehouse file ``database``: beside it, so the copy and
    its rename stay on one file system."""
    database = Path(database)
    return database.with_name(f"{database.stem}.snapshot.duckdb")


def publish_snapshot(engine: Engine) -> Path | None:
    """Copy a DuckDB warehouse to its snapshot file, checkpointed (its write-ahead log folded
    into the file) and copied while this engine still holds the write lock, under a temporary
    name renamed over the last snapshot: a reader sees the old copy or the new one, never half
    of one, and a reader holding the old one reads on; when the task wrote nothing, the last
    copy is only marked current (its time). Nothing on any other database (readers read it
    live). Returns the snapshot's path, or None (not DuckDB; or the copy failed, a full
    disk say: logged as a warning, the last snapshot stays)."""
    if engine.dialect.name != "duckdb":
        return None
    database = Path(engine.url.database)
    target = snapshot_path(database)
    with engine.connect() as conn:
        execute_file(conn, "warehouse/checkpoint.sql")
        conn.commit()
        if target.exists() and target.stat().st_mtime_ns >= database.stat().st_mtime_ns:
            # nothing written since the last copy (a dispatch run with nothing due, say): it
            # is current, as of now
            os.utime(target)
            return target
        try:
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            os.close(handle)
            try:
                _copy_file(database, Path(temporary))
                shutil.copymode(database, temporary)  # mkstemp's file is its owner's only
                os.replace(temporary, target)
            finally:
                Path(temporary).unlink(missing_ok=True)  # gone already once renamed
        except OSError as exc:
            # the task's work is done and committed: readers keep the previous snapshot (its
            # age shows how old) rather than the task failing for their copy
            log.warning("warehouse snapshot not published, readers keep the last one: %s", exc)
            return None
    log.info("warehouse snapshot published: %s", target.name)
    return target


def _copy_file(source: Path, target: Path) -> None:
    """``source``'s bytes into ``target`` by the kernel (``copy_file_range``): on a file system
    that shares blocks (XFS, btrfs) a clone of the file's blocks, no bytes copied; on NFS 4.2 a
    copy on the server; elsewhere (ext4) a copy inside the kernel, as ``shutil.copyfile``'s. A
    file system or kernel that cannot: ``shutil.copyfile``."""
    with source.open("rb") as src, target.open("wb") as dst:
        left = os.fstat(src.fileno()).st_size
        try:
            while left > 0 and (copied := os.copy_file_range(src.fileno(), dst.fileno(), left)):
                left -= copied
            return
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                raise
    shutil.copyfile(source, target)


def open_snapshot(url: URL) -> tuple[Engine, datetime]:
    """A read-only engine on the snapshot of the DuckDB warehouse at ``url``, and the instant
    it was published (UTC); `SnapshotMissing` when none has been published. Each of its
    connections attaches the file the snapshot's path names when it connects
    (``warehouse/attach_snapshot.sql``). Dispose of the engine when done."""
    path = snapshot_path(url.database)
    published = datetime.fromtimestamp(_snapshot_stat(url).st_mtime, UTC)
    # a queue of connections, each an in-memory database of its own (disposing of the engine
    # closes the idle ones; one in use is closed when given back, not under its reader)
    engine = sa.create_engine(
        url.set(database=":memory:"), poolclass=sa.pool.QueuePool, hide_parameters=True
    )

    @sa.event.listens_for(engine, "engine_connect")
    def attach(conn: Connection) -> None:
        if not conn.info.get("snapshot"):  # once per connection of the pool
            execute_file(conn, "warehouse/attach_snapshot.sql", {"path": str(path)})
            conn.commit()
            conn.info["snapshot"] = True

    return engine, published


def _snapshot_stat(url: URL) -> os.stat_result:
    """The snapshot file's status (its identity, its publication time); `SnapshotMissing` when
    none has been published."""
    path = snapshot_path(url.database)
    try:
        return path.stat()
    except FileNotFoundError:
        raise SnapshotMissing(
            f"no snapshot of the DuckDB warehouse yet ({path.name} beside {Path(url.database).name}"
            "): readers see the warehouse as the last warehouse task to finish left it, and "
            "none has finished since the warehouse was made; run a DAG (the nightly's first "
            "task will do)"
        ) from None


class ReadEngines:
    """Engines for a long-lived reader (the ops console in the api-server), kept open between
    reads instead of made per request: on DuckDB one per snapshot *file* (its device and inode:
    a publication renames a new file over the old one, so the next read gets a new engine and
    the last one is disposed of; a reader still on it reads on from the old file), on any other
    database one per URL, read live. Shared and thread-safe: callers never dispose of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engines: dict[str, tuple[Any, Engine]] = {}  # url -> (file identity, engine)

    def get(self, url: URL) -> tuple[Engine, datetime | None]:
        """The engine to read the warehouse at ``url`` with, and the instant its DuckDB snapshot
        was published (None: live); `SnapshotMissing` before the first publication."""
        key = url.render_as_string(hide_password=False)
        if url.get_backend_name() != "duckdb":
            with self._lock:
                if key not in self._engines:
                    self._engines[key] = (None, create_engine(url))
                return self._engines[key][1], None
        stat = _snapshot_stat(url)
        identity = (stat.st_dev, stat.st_ino)
        published = datetime.fromtimestamp(stat.st_mtime, UTC)  # marked current: a new time
        with self._lock:
            kept = self._engines.get(key)
            if kept is None or kept[0] != identity:
                if kept is not None:
                    kept[1].dispose()
                engine, _ = open_snapshot(url)
                self._engines[key] = kept = (identity, engine)
            return kept[1], published


# --------------------------------------------------------------------------------------------
# sql files


@dataclass(frozen=True)
class SqlFile:
    """A rendered sql file, split into statements."""

    name: str
    statements: tuple[str, ...]


#: SQL kept outside the package, by prefix (`add_sql_dir`)
_more_sql: dict[str, FileSystemLoader] = {}
_jinja = Environment(
    loader=ChoiceLoader([FileSystemLoader(str(SQL_DIR)), PrefixLoader(_more_sql)]),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - renders SQL identifiers, never HTML; values are bound
    keep_trailing_newline=True,
)


def add_sql_dir(prefix: str, directory: Path) -> None:
    """Also render ``<prefix>/<name>`` from ``directory``: SQL kept outside the package (the
    benchmarks'), with the same macros."""
    _more_sql[prefix] = FileSystemLoader(str(directory))


def _check_template_value(key: str, value: Any) -> None:
    """Template variables are identifiers or config scalars; values go in bound parameters."""
    if isinstance(value, bool | int | float) or value is None:
        return
    if isinstance(value, str):
        if not _IDENTIFIER.match(value):
            raise WarehouseError(
                f"template variable {key!r} is not an identifier; pass values as bound "
                "parameters, not through Jinja"
            )
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_template_value(key, item)
        return
    raise WarehouseError(f"template variable {key!r} has unsupported type {type(value).__name__}")


def render(name: str, dialect: str, **template_vars: Any) -> SqlFile:
    """Render ``sql/<name>`` for a dialect and split it into statements (cached: a page loop
    runs the same few files thousands of times)."""
    for key, value in template_vars.items():
        _check_template_value(key, value)
        if isinstance(value, list):
            template_vars[key] = tuple(value)
    if dialect not in _TYPES:
        raise WarehouseError(f"unsupported warehouse dialect {dialect!r}")
    return _render(name, dialect, tuple(sorted(template_vars.items())))


@lru_cache(maxsize=256)
def _render(name: str, dialect: str, template_vars: tuple[tuple[str, Any], ...]) -> SqlFile:
    text = _jinja.get_template(name).render(
        dialect=dialect, types=_TYPES[dialect], **dict(template_vars)
    )
    statements = tuple(s.strip().rstrip(";") for s in sqlparse.split(text) if _has_code(s))
    return SqlFile(name, statements)


def _has_code(statement: str) -> bool:
    """Whether a statement holds more than comments and whitespace (read token by token:
    sqlparse's formatter refuses statements of over 10,000 tokens)."""
    return any(
        token not in Token.Comment and token not in Token.Text.Whitespace
        for token, _ in sqlparse.lexer.tokenize(statement)
    )


def execute_file(
    conn: Connection, name: str, params: Mapping[str, Any] | None = None, **template_vars: Any
) -> int:
    """Run every statement of ``sql/<name>``; returns the summed row count of DML statements."""
    sql = render(name, conn.dialect.name, **template_vars)
    total = 0
    for statement in sql.statements:
        result = conn.execute(sa.text(statement), dict(params or {}))
        total += max(result.rowcount, 0)
    return total


def query_file(
    conn: Connection, name: str, params: Mapping[str, Any] | None = None, **template_vars: Any
) -> list[dict[str, Any]]:
    """Run ``sql/<name>`` (one query) and return its rows as dicts."""
    sql = render(name, conn.dialect.name, **template_vars)
    if len(sql.statements) != 1:
        raise WarehouseError(
            f"{name}: query_file expects one statement, found {len(sql.statements)}"
        )
    return [
        dict(row) for row in conn.execute(sa.text(sql.statements[0]), dict(params or {})).mappings()
    ]


# --------------------------------------------------------------------------------------------
# migrations


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    checksum: str


def migrations() -> list[Migration]:
    """The migration files in version order; a misnamed or duplicated file is an error."""
    found: dict[int, Migration] = {}
    for path in sorted((SQL_DIR / MIGRATIONS_DIR).glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise WarehouseError(f"migration file {path.name!r} is not named NNNN_lower_name.sql")
        version = int(match.group(1))
        if version in found:
            raise WarehouseError(f"two migrations share version {version:04d}")
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        found[version] = Migration(version, path.name, checksum)
    return [found[v] for v in sorted(found)]


def migrate(engine: Engine) -> list[str]:
    """Apply pending migrations in one transaction; returns the names applied (may be empty).

    Safe to call on every DAG run: when nothing is pending it only reads, so a warehouse role
    without CREATE rights runs fine between releases. On Postgres, concurrent callers queue on
    an advisory lock, and the second finds nothing left to do. A migration edited after it was
    applied is an error: add a new migration instead.
    """
    known = migrations()
    with transaction(engine) as conn:
        if _pending(conn, known):
            applied_now = _apply(conn, known)
        else:
            applied_now = []
    log.info("warehouse migrations: %d applied now, %d known", len(applied_now), len(known))
    return applied_now


def _applied(conn: Connection) -> dict[int, dict[str, Any]]:
    if not sa.inspect(conn).has_table("schema_migrations", schema="aftercare"):
        return {}
    return {row["version"]: row for row in query_file(conn, "warehouse/applied_migrations.sql")}


def _pending(conn: Connection, known: list[Migration]) -> bool:
    done = _applied(conn)
    for migration in known:
        previous = done.get(migration.version)
        if previous is not None and previous["checksum"] != migration.checksum:
            raise WarehouseError(
                f"migration {migration.name} changed after it was applied; "
                "never edit an applied migration, add a new one"
            )
    highest = max(done, default=0)
    for migration in known:
        if migration.version not in done and migration.version < highest:
            raise WarehouseError(
                f"migration {migration.name} is numbered below {highest:04d}, applied here "
                "already: it would run after it here and before it elsewhere; give it the "
                "number after the highest"
            )
    return any(migration.version not in done for migration in known)


def _apply(conn: Connection, known: list[Migration]) -> list[str]:
    execute_file(conn, "warehouse/lock_migrations.sql", {"lock_key": _MIGRATION_LOCK_KEY})
    execute_file(conn, "warehouse/migrations_table.sql")
    _pending(conn, known)  # again under the lock: another run may have migrated meanwhile
    done = _applied(conn)
    applied_now = []
    for migration in known:
        if migration.version in done:
            continue
        execute_file(conn, f"{MIGRATIONS_DIR}/{migration.name}")
        execute_file(
            conn,
            "warehouse/record_migration.sql",
            {"version": migration.version, "name": migration.name, "checksum": migration.checksum},
        )
        applied_now.append(migration.name)
    execute_file(conn, "warehouse/analyze.sql")  # new tables' statistics (Postgres)
    return applied_now


def to_json(value: Any) -> str:
    """Serialise a value for a json column (bound as a parameter)."""
    return json.dumps(value, sort_keys=True, default=str)
