"""The local commands behind ``make demo`` and ``make airflow``.

    python -m aftercare.localdev demo [--days 3] [--sandbox-port 8765]
    python -m aftercare.localdev airflow [--sandbox-port 8765]

Both expect the Airflow environment the Makefile exports (project-local ``AIRFLOW_HOME``,
``dags/`` as the DAG folder). The demo starts the sandbox with its clock on the first demo day,
runs the nightly DAG for that day, advances the sandbox's clock a day (the ATS changes the way a
real one does), runs the next night, and so on; then it prints the run summaries.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy.engine import Connection

from aftercare import PROJECT_ROOT
from aftercare.bootstrap import LOCAL_WAREHOUSE, bootstrap
from aftercare.config import load_config
from aftercare.connections import WAREHOUSE
from aftercare.dispatch.journal import staging_root
from aftercare.sandbox import DEFAULT_PORT, SandboxSettings
from aftercare.sandbox.ats.settings import AtsSandboxSettings
from aftercare.sandbox.server import start_process, wait_for_http

NIGHTLY = "aftercare_nightly"
DISPATCH = "aftercare_dispatch"
ENGAGEMENT = "aftercare_engagement"
#: When the demo runs dispatch each day (UTC): mornings in Europe, afternoons and evenings in
#: the Americas; what falls in a candidate's quiet hours waits for their morning.
DISPATCH_HOURS_UTC = (9, 15, 21)
AIRFLOW_UI = "http://localhost:8080"


def _airflow_home() -> Path:
    home = os.environ.get("AIRFLOW_HOME")
    if not home:
        sys.exit("AIRFLOW_HOME is not set: run this through `make demo` or `make airflow`")
    return Path(home)


def _sandbox_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


@contextmanager
def sandbox(port: int, first_day: date, log_dir: Path) -> Iterator[str]:
    """The sandbox as a child process for the duration of the block, its clock on first_day."""
    log_dir.mkdir(parents=True, exist_ok=True)
    settings = SandboxSettings(ats=AtsSandboxSettings(clock_start=first_day))
    process = start_process(port, settings, log_path=str(log_dir / "sandbox.log"))
    url = _sandbox_url(port)
    print(f"sandbox   {url} (health: /health, API docs: /docs), clock at {first_day}")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        print("sandbox   stopped")


def advance_clock(url: str) -> dict[str, object]:
    """Move the sandbox ATS on by one day; returns what changed."""
    response = requests.post(f"{url}/sandbox/ats/clock/advance", params={"days": 1}, timeout=60)
    response.raise_for_status()
    return response.json()


def demo_dates(days: int, today: date) -> list[datetime]:
    """The nightly run times (02:00 agency time) of the last ``days`` days, oldest first."""
    zone = ZoneInfo(load_config().agency.time_zone)
    return [
        datetime.combine(today - timedelta(days=back), clock(2, 0), tzinfo=zone)
        for back in range(days - 1, -1, -1)
    ]


def run_dag(dag_id: str, logical: datetime, log_dir: Path, conf: dict[str, object]) -> None:
    """One in-process run of a DAG (``airflow dags test``); output goes to a log file."""
    label = f"{dag_id.removeprefix('aftercare_'):<9} {logical:%Y-%m-%d %H:%M %Z}"
    log_file = log_dir / f"{dag_id}_{logical:%Y-%m-%dT%H%M}.log"
    print(f"run       {label}  (follow: tail -f {log_file.relative_to(PROJECT_ROOT)})")
    started = time.monotonic()
    with log_file.open("w") as out:
        result = subprocess.run(
            ["airflow", "dags", "test", dag_id, logical.isoformat(), "-c", json.dumps(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    took = time.monotonic() - started
    if result.returncode != 0:
        tail = log_file.read_text(errors="replace").splitlines()[-40:]
        print("\n".join(tail))
        sys.exit(f"run {label} FAILED after {took:.0f} s; full log: {log_file}")
    print(f"run       {label}  ok ({took:.1f} s)")


def set_clock(url: str, at: datetime) -> None:
    """Move the sandbox's one clock (ATS, providers, dispatch) forward to ``at``."""
    response = requests.post(
        f"{url}/sandbox/clock/set", params={"at": at.astimezone(UTC).isoformat()}, timeout=120
    )
    response.raise_for_status()


def _warehouse_connection() -> dict[str, Any]:
    """The fields of the ``aftercare_warehouse`` connection, from this (non-task) process: the
    Task SDK reads connections only inside tasks, so ask the Airflow CLI."""
    found = subprocess.run(
        ["airflow", "connections", "get", WAREHOUSE, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(found.stdout)[0]


@contextmanager
def local_warehouse() -> Iterator[Connection]:
    """A transaction on the warehouse the ``aftercare_warehouse`` connection names, from this
    (non-task) process. Exits with a clear message when another process holds a DuckDB file."""
    from airflow.sdk import Connection as AirflowConnection

    from aftercare import warehouse

    fields = _warehouse_connection()
    connection = AirflowConnection(
        conn_id=WAREHOUSE,
        conn_type=fields["conn_type"],
        host=fields["host"],
        login=fields["login"],
        password=fields["password"],
        schema=fields["schema"],
        port=fields["port"],
        extra=json.dumps(fields["extra_dejson"]),
    )
    engine = warehouse.engine_for(connection)
    try:
        with warehouse.transaction(engine) as conn:
            yield conn
    except warehouse.WarehouseError as exc:
        sys.exit(str(exc))
    finally:
        engine.dispose()


def print_summary(run_dates: list[date]) -> None:
    from aftercare import summary, warehouse
    from aftercare.quality import docs_index

    with local_warehouse() as conn:
        runs = summary.recent_runs(conn, NIGHTLY, limit=50)
        ledger = warehouse.query_file(
            conn,
            "record/ledger_by_day.sql",
            {"first_day": run_dates[0], "last_day": run_dates[-1]},
        )
    latest = {run["run_date"]: run["counts"] for run in runs}
    columns = {str(day): latest[day] for day in run_dates if day in latest}
    print(f"\nRun summary of {NIGHTLY} (aftercare.run_summaries):\n")
    print(summary.format_table(columns))
    days: dict[str, dict[str, dict[str, int]]] = {str(day): {} for day in run_dates}
    for row in ledger:
        status = row["status"] if row["reason"] is None else f"{row['status']}_{row['reason']}"
        days[str(row["due_date"])].setdefault(row["channel"], {})[status] = row["touchpoints"]
    print("\nTouchpoints by due date, channel and what became of them (aftercare.touchpoints):\n")
    print(summary.format_table(days).replace("stage     ", "channel   ", 1))
    config = load_config()
    print(
        f"\nQuality: quality.quarantine, quality.validation_runs;"
        f" Data Docs: file://{docs_index(config)}"
    )
    print(f"Report (marts.*, engagement.*): file://{PROJECT_ROOT / config.engagement.report_path}")


def fresh_start() -> None:
    """The sandbox's world starts afresh each demo, so the demo's local warehouse and dispatch
    files do too (only the local DuckDB file of `bootstrap`; a warehouse you pointed elsewhere
    is left alone)."""
    if Path(_warehouse_connection()["host"] or "") != LOCAL_WAREHOUSE:
        return
    for path in (LOCAL_WAREHOUSE, LOCAL_WAREHOUSE.with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)
    root = staging_root(load_config().dispatch.staging_root) / "dispatch"
    if root.exists():
        root.rmdir(recursive=True)
    print(f"warehouse fresh: {LOCAL_WAREHOUSE.relative_to(PROJECT_ROOT)} and the dispatch files")


def demo(days: int, sandbox_port: int) -> None:
    home = _airflow_home()
    log_dir = home / "logs" / "demo"
    log_dir.mkdir(parents=True, exist_ok=True)
    print("airflow   preparing the local metadata database, pools and connections")
    bootstrap(_sandbox_url(sandbox_port))
    with local_warehouse():  # fail fast if the DuckDB file is held (e.g. by `make airflow`)
        pass
    fresh_start()
    zone = ZoneInfo(load_config().agency.time_zone)
    runs = demo_dates(days, datetime.now(zone).date())
    with sandbox(sandbox_port, runs[0].date(), log_dir) as url:
        for night, logical in enumerate(runs):
            if night:
                changes = advance_clock(url)
                print(f"sandbox   clock advanced a day: {changes.get('changes')}")
            # night 1 is a full refresh: the sandbox starts its world afresh each demo, so a
            # rerun of the demo replays the same story instead of finding nothing new
            run_dag(NIGHTLY, logical, log_dir, {"full_refresh": night == 0})
            # the day's sends: dispatch at a few moments of the (simulated) day
            for hour in DISPATCH_HOURS_UTC:
                moment = datetime.combine(logical.date(), clock(hour), tzinfo=UTC)
                set_clock(url, moment)
                run_dag(DISPATCH, moment, log_dir, {})
            # what the candidates did with it, late in the day
            moment = datetime.combine(logical.date(), clock(23, 30), tzinfo=UTC)
            set_clock(url, moment)
            run_dag(ENGAGEMENT, moment, log_dir, {})
        # and two weeks on: the reviews and referrals those days earned (no more sends)
        later = datetime.combine(runs[-1].date() + timedelta(days=14), clock(12), tzinfo=UTC)
        set_clock(url, later)
        run_dag(ENGAGEMENT, later, log_dir, {})
    print_summary([logical.date() for logical in runs])


def follow_wall_clock(url: str, every_seconds: float = 30) -> None:
    """Keep the sandbox's clock on the system clock (until the process ends)."""
    while True:
        try:
            set_clock(url, datetime.now(UTC))
        except requests.RequestException:
            pass  # the sandbox is stopping or busy: try again next time
        time.sleep(every_seconds)


def airflow_ui(sandbox_port: int) -> None:
    home = _airflow_home()
    log_dir = home / "logs"
    bootstrap(_sandbox_url(sandbox_port))
    today = datetime.now(ZoneInfo(load_config().agency.time_zone)).date()
    with sandbox(sandbox_port, today, log_dir) as url:
        # the sandbox's clock (dispatch's, through aftercare_clock) follows the wall clock here
        threading.Thread(target=follow_wall_clock, args=(url,), daemon=True).start()
        log_file = log_dir / "standalone.log"
        with log_file.open("a") as out:
            process = subprocess.Popen(
                ["airflow", "standalone"], stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_for_http(f"{AIRFLOW_UI}/api/v2/monitor/health", process, seconds=180)
            passwords = home / "simple_auth_manager_passwords.json.generated"
            login = json.loads(passwords.read_text()) if passwords.exists() else {}
            print(f"\nAirflow UI  {AIRFLOW_UI}")
            for user, password in login.items():
                print(f"login       user {user}  password {password}")
            print(f"logs        {log_file}\nstop        Ctrl-C\n")
            process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            process.terminate()
            process.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m aftercare.localdev", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_cmd = commands.add_parser("demo", help="run the nightly DAG for a few days, summarise")
    demo_cmd.add_argument("--days", type=int, default=3)
    demo_cmd.add_argument("--sandbox-port", type=int, default=DEFAULT_PORT)
    ui_cmd = commands.add_parser("airflow", help="the Airflow UI (airflow standalone) and sandbox")
    ui_cmd.add_argument("--sandbox-port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    # stop cleanly on SIGTERM too: the finally blocks stop the sandbox and airflow standalone
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.command == "demo":
        if args.days < 1:
            parser.error("--days must be at least 1")
        demo(args.days, args.sandbox_port)
    else:
        airflow_ui(args.sandbox_port)


if __name__ == "__main__":
    main()
