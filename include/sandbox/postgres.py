"""A throwaway PostgreSQL server for the tests and `make cluster`, started from the Debian
binaries.

`initdb` and `pg_ctl` refuse to run as root, and CI runs as root: then they run as the
``postgres`` system user (created by Debian's postgresql package) through ``runuser``. Set
``AFTERCARE_TEST_POSTGRES_URL`` (``postgresql://user:pass@host:port/db``, a role that may create
databases) to use an existing server instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from sandbox.ports import free_port

ENV_URL = "AFTERCARE_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class PostgresServer:
    url: sa.URL  # an admin connection to the server's default database

    @contextmanager
    def database(self) -> Iterator[str]:
        """A fresh database, dropped afterwards; yields its Airflow connection URI."""
        name = f"aftercare_test_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            quoted = admin.dialect.identifier_preparer.quote(name)
            with admin.connect() as conn:
                conn.exec_driver_sql(f"create database {quoted}")
            yield self.url.set(drivername="postgresql", database=name).render_as_string(
                hide_password=False
            )
            with admin.connect() as conn:
                conn.exec_driver_sql(f"drop database {quoted} with (force)")
        finally:
            admin.dispose()


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    found = candidates[0] if candidates else shutil.which("pg_ctl")
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found: install Debian's postgresql package "
            f"(.ci/run does) or set {ENV_URL}"
        )
    return Path(found).parent


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def server() -> Iterator[PostgresServer]:
    if os.environ.get(ENV_URL):
        yield PostgresServer(sa.make_url(os.environ[ENV_URL]).set(drivername="postgresql+psycopg2"))
        return
    bin_dir = _bin_dir()
    base = Path(tempfile.mkdtemp(prefix="aftercare-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres")
    data, port = base / "data", free_port()
    run = {"check": True, "capture_output": True}
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        **run,
    )
    # fsync off: a throwaway server. jit off: the plan's statements over temporary tables (no
    # statistics, so estimates above jit_above_cost) spent ~14 s of a 0.5 s test compiling
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c jit=off"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        _as_postgres([*pg_ctl, "-o", options, "-l", str(base / "log"), "-w", "start"]), **run
    )
    try:
        yield PostgresServer(
            sa.URL.create(
                "postgresql+psycopg2",
                username="postgres",
                host="127.0.0.1",
                port=port,
                database="postgres",
            )
        )
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "fast", "-w", "stop"]), **run)
        shutil.rmtree(base, ignore_errors=True)
