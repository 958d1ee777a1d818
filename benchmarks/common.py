"""What the benchmark scripts share: the warehouse and sandbox they run against, the ATS client,
and phases in processes of their own (so that each phase's peak memory is its own)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sandbox.ports import free_port

#: DuckDB settings of a benchmark's warehouse connection (the extras of aftercare_warehouse;
#: override with BENCH_DUCKDB_SETTINGS): one thread, because the sandbox shares this 2-core
#: machine (in production the ATS is remote); a memory limit, because DuckDB's buffer pool
#: otherwise grows towards 80% of RAM; fewer checkpoints (every 512 MB of WAL instead of 16 MB)
#: on a bulk load; no insertion order kept (nothing reads raw tables in insertion order).
DUCKDB_SETTINGS = json.loads(
    os.environ.get(
        "BENCH_DUCKDB_SETTINGS",
        '{"threads": 1, "memory_limit": "300MB", "checkpoint_threshold": "512MB", '
        '"preserve_insertion_order": false}',
    )
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def server_peak_rss_mb(engine) -> float | None:  # noqa: ANN001 - an Engine
    """The largest peak RSS (VmHWM: the shared buffers it touched included) of the Postgres
    backends connected to ``engine``'s database, a server on this machine: what a phase's work
    cost the server, beside the phase's own memory. None on DuckDB (it works inside the phase's
    process), or when the server's processes cannot be read."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        pids = conn.exec_driver_sql(
            "select pid from pg_stat_activity where datname = current_database()"
        ).scalars()
        peaks = [
            int(line.split()[1]) / 1024
            for pid in pids
            if (status := Path(f"/proc/{pid}/status")).exists()
            for line in status.read_text().splitlines()
            if line.startswith("VmHWM:")
        ]
    return max(peaks, default=None)


def use_benchmark_sql() -> None:
    """The benchmarks' own SQL (benchmarks/sql/) renders as ``benchmarks/<name>``."""
    from aftercare import warehouse

    warehouse.add_sql_dir("benchmarks", Path(__file__).parent / "sql")


def engine(path: str, settings: dict[str, Any] | None = None):  # noqa: ANN201 - an Engine
    """The benchmark's DuckDB warehouse at ``path`` (with DUCKDB_SETTINGS unless given), or the
    database at ``path`` when it is a URL (a Postgres server's)."""
    import sqlalchemy as sa
    from airflow.sdk import Connection

    from aftercare import connections, warehouse

    if "://" in path:
        return warehouse.create_engine(sa.make_url(path))
    extra = json.dumps(DUCKDB_SETTINGS if settings is None else settings)
    return connections.engine_for(
        Connection(conn_id="bench", conn_type="duckdb", host=path, extra=extra)
    )


def client(url: str):  # noqa: ANN201 - a BullhornAts, imported late
    """The ATS client for the sandbox at ``url``, its rate limit out of the way."""
    from aftercare.ats.bullhorn import BullhornAts, BullhornCredentials
    from aftercare.config import load_config
    from sandbox.ats.settings import AtsSandboxSettings

    sandbox = AtsSandboxSettings()
    credentials = BullhornCredentials(
        login_info_url=f"{url}/ats",
        api_user=sandbox.api_user,
        api_password=sandbox.api_password,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    settings = load_config().ats.model_copy(update={"rate_limit_per_minute": 10_000_000})
    return BullhornAts(credentials, settings)


@contextmanager
def sandbox(
    placements: int, cpus: set[int] | None = None, **services: dict[str, Any]
) -> Iterator[str]:
    """A sandbox ATS with ``placements`` (and the other services' settings given) in a process
    of its own (on ``cpus`` when given and the machine has more than one); yields its URL."""
    from sandbox import SandboxSettings
    from sandbox.server import start_process

    ats = {"placements": placements, "rate_limit_per_minute": 10_000_000}
    settings = SandboxSettings.model_validate({"ats": ats, **services})
    print(f"sandbox: generating {placements:,} placements ...", flush=True)
    port = free_port()
    process = start_process(port, settings, smtp_port=free_port())
    if cpus and len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(process.pid, cpus)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def preferences_service(folder: Path) -> Iterator[str]:
    """The preferences service (the video channel's own pages, and the feed dispatch loads
    before it batches) for a benchmark whose environment holds the local connections and
    ``AFTERCARE_CONFIG``: the demo's (`sandbox.localdev.preferences_service`) on a free port
    (the demo's may be taken), its store and log under ``folder``, not the project's; yields
    its URL."""
    import yaml

    from aftercare.connections import PREFERENCES
    from sandbox.localdev import preferences_service as serve

    feed_env = f"AIRFLOW_CONN_{PREFERENCES.upper()}"
    host = f"http://127.0.0.1:{free_port()}"
    os.environ[feed_env] = json.dumps(json.loads(os.environ[feed_env]) | {"host": host})
    config_file = Path(os.environ["AFTERCARE_CONFIG"])
    config = yaml.safe_load(config_file.read_text())
    config["preferences"]["store_path"] = str(folder / "preferences" / "events.sqlite")
    config_file.write_text(yaml.safe_dump(config))
    with serve(folder) as url:
        yield url


def run_phase(
    script: str, name: str, *args: str, preexec: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Run phase ``name`` of ``script`` in a fresh process; returns the figures it printed."""
    result = subprocess.run(
        [sys.executable, script, "--phase", name, *args],
        capture_output=True,
        text=True,
        preexec_fn=preexec,
    )
    if result.returncode:
        sys.exit(f"phase {name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def arguments(
    doc: str, phases: dict[str, Callable[..., dict[str, Any]]], pair: str, postgres: bool = False
) -> argparse.Namespace | None:
    """The command line of a benchmark (--placements, --rounds, and --postgres when it has
    one). When the process was started to run a phase, it runs it, prints its figures with its
    peak memory, and returns None."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--placements", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1, help=f"{pair} pairs to run")
    if postgres:
        parser.add_argument(
            "--postgres", action="store_true", help="also on a throwaway Postgres server"
        )
    parser.add_argument("--phase", choices=list(phases), help=argparse.SUPPRESS)
    parser.add_argument("phase_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.phase:
        return args
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    result = phases[args.phase](*args.phase_args)
    print(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))
    return None
