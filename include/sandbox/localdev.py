"""The local commands behind ``make demo`` and ``make airflow``.

    python -m sandbox.localdev demo [--days N] [--scenario usual|edges] [--sandbox-port 8765]
                                      [--started EPOCH]
    python -m sandbox.localdev airflow [--sandbox-port 8765]

Both expect the Airflow environment the Makefile exports (project-local ``AIRFLOW_HOME``,
``dags/`` as the DAG folder). The demo starts the sandbox with its clock on the first demo day,
runs the nightly DAG for that day, advances the sandbox's clock a day (the ATS changes the way a
real one does), runs the next night, and so on; then it prints the run summaries.

The demo runs every DAG run of its story in this one process, in order, with ``dag.test()`` (what
``airflow dags test`` runs): Airflow, the DAG bag, the in-process Execution API and the heavy
libraries (pandas, Great Expectations) are loaded once for the whole story instead of once per
run. Each run's output goes to its own log file under ``$AIRFLOW_HOME/logs/demo/``.
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
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import psutil
import requests
from pydantic import BaseModel

from aftercare import PROJECT_ROOT
from aftercare.config import load_config
from aftercare.connections import WAREHOUSE
from sandbox import DEFAULT_PORT, SandboxSettings
from sandbox.ats import scenario as edges
from sandbox.ats.settings import AtsSandboxSettings
from sandbox.candidates import use_links
from sandbox.server import await_started, launch_process, wait_for_http

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

# Airflow (and with it bootstrap, the warehouse and the DAGs) is imported where it is used, so
# the sandbox's process starts building its world while this one imports Airflow.

NIGHTLY = "aftercare_nightly"
DISPATCH = "aftercare_dispatch"
ENGAGEMENT = "aftercare_engagement"
#: When the demo runs dispatch each day (UTC): mornings in Europe, afternoons and evenings in
#: the Americas; what falls in a candidate's quiet hours waits for their morning.
DISPATCH_HOURS_UTC = (9, 15, 21)
AIRFLOW_UI = "http://localhost:8080"
#: Placements of the usual world around the edges scenario's planted cases in the demo.
EDGES_NOISE = 2_000


def _airflow_home() -> Path:
    home = os.environ.get("AIRFLOW_HOME")
    if not home:
        sys.exit("AIRFLOW_HOME is not set: run this through `make demo` or `make airflow`")
    return Path(home)


def sandbox_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


class SandboxWorld(BaseModel):
    """What the demo's sandbox was (``sandbox-world.json`` beside the demo's logs): its
    settings (seed, ATS, scenario), the nights the demo lived, and where the sandbox's clock
    stood when it last stopped. `make airflow` continues that world from there."""

    settings: SandboxSettings
    scenario: str
    days: int
    first_night: date
    last_night: date
    clock: datetime | None = None


@dataclass(frozen=True)
class KeptWorld:
    """A sandbox world kept between commands, beside the demo's logs: its record (JSON, for
    people and for `make airflow`) and its state (the sandbox's own file, ``--state-file``)."""

    record: Path
    state: Path

    @classmethod
    def of(cls, home: Path) -> KeptWorld:
        demo = home / "logs" / "demo"
        return cls(demo / "sandbox-world.json", demo / "sandbox-state.pickle")

    def read(self) -> SandboxWorld | None:
        """The kept world, or None when there is none (no demo yet, or one of an older
        version that kept no state)."""
        if not (self.record.exists() and self.state.exists()):
            return None
        return SandboxWorld.model_validate_json(self.record.read_text())

    def forget(self) -> None:
        self.record.unlink(missing_ok=True)
        self.state.unlink(missing_ok=True)

    def save(self, url: str, world: SandboxWorld) -> None:
        """Have the sandbox at ``url`` save its state; record ``world`` at its clock."""
        response = requests.post(f"{url}/sandbox/state", timeout=120)
        response.raise_for_status()
        world.clock = datetime.fromisoformat(response.json()["iso"])
        self.record.write_text(world.model_dump_json(indent=2))


@contextmanager
def sandbox(
    port: int,
    settings: SandboxSettings,
    log_dir: Path,
    kept: tuple[KeptWorld, SandboxWorld] | None = None,
) -> Iterator[Callable[[], str]]:
    """The sandbox as a child process for the duration of the block, as ``settings`` say, or
    continuing the world ``kept`` (if its state file is there), saved there again when the
    block ends. It starts at once and builds its world while the caller goes on; the block
    gets a function that waits until the sandbox answers and returns its URL."""
    log_dir.mkdir(parents=True, exist_ok=True)
    url, log_path = sandbox_url(port), str(log_dir / "sandbox.log")
    ats = settings.ats
    about = "" if ats.scenario == "usual" else f", scenario {ats.scenario}"
    if kept and kept[1].clock:
        about += f", continuing the demo's world from {kept[1].clock:%Y-%m-%d %H:%M %Z}"
    else:
        about = f", clock at {ats.clock_start}{about}"
    print(f"sandbox   starting on {url}{about} (in the background) ...")
    launched = time.monotonic()
    process = launch_process(port, settings, log_path, state_file=kept[0].state if kept else None)
    started = False

    def ready() -> str:
        nonlocal started
        await_started(process, port, settings, log_path)
        started = True
        took = time.monotonic() - launched
        print(f"sandbox   {url} answers (health: /health, API docs: /docs): up in {took:.1f} s")
        return url

    try:
        yield ready
    finally:
        try:
            if kept and started:
                keep, world = kept
                keep.save(url, world)
                print(f"sandbox   world kept at {world.clock:%Y-%m-%d %H:%M %Z}: {keep.record}")
        finally:
            process.terminate()
            process.wait(timeout=10)
            print("sandbox   stopped")


@contextmanager
def preferences_service(log_dir: Path) -> Iterator[str]:
    """The candidates' preferences service beside the sandbox, for the duration of the block
    (after `sandbox.bootstrap.bootstrap_local`: its secrets are the local connections'), and
    this process's config pointing the messages' links at it; yields its URL."""
    import yaml
    from airflow.models.connection import Connection

    from aftercare.config import CONFIG_ENV, config_path
    from aftercare.connections import PREFERENCES, SIGNING
    from aftercare.preferences.process import start_service

    feed = Connection.get_connection_from_secrets(PREFERENCES)
    secret = Connection.get_connection_from_secrets(SIGNING).password
    url = feed.host.rstrip("/")
    config = yaml.safe_load(config_path().read_text())
    config["messages"]["unsubscribe_link_base"] = f"{url}/unsubscribe"
    config["messages"]["referral_link_base"] = f"{url}/refer"
    # the video channel's own pages (the default platform): served by this service
    config["messages"]["video_page_base"] = f"{url}/v"
    # every simulated candidate comes from 127.0.0.1: one client to the rate limit
    config.setdefault("preferences", {})["requests_per_minute"] = 1_000_000
    demo_config = log_dir / "aftercare-demo.yaml"
    demo_config.write_text(yaml.safe_dump(config, sort_keys=False))
    os.environ[CONFIG_ENV] = str(demo_config)
    port = int(url.rsplit(":", 1)[1])
    process = start_service(
        port, secret, feed.password, config=demo_config, log=log_dir / "preferences.log"
    )
    print(f"prefs     {url} answers the messages' unsubscribe, referral and video page links")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        print("prefs     stopped")


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


@contextmanager
def step(label: str, what: str) -> Iterator[None]:
    """Print a step as it starts and as it ends, with its duration (or that it failed)."""
    print(f"{label:<10}{what} ...", flush=True)
    started = time.monotonic()
    try:
        yield
    except BaseException:
        print(f"{label:<10}{what}: FAILED after {time.monotonic() - started:.1f} s", flush=True)
        raise
    print(f"{label:<10}{what}: done in {time.monotonic() - started:.1f} s", flush=True)


@contextmanager
def output_to(log_file: Path) -> Iterator[None]:
    """Send everything this process writes to stdout and stderr (Airflow's logs, the tasks'
    logs, warnings from C libraries) to ``log_file`` for the duration of the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with log_file.open("a") as out:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])


class Story:
    """Runs DAG runs one after another in this process, as ``airflow dags test`` would run
    each (``dag.test()``), paying Airflow's fixed costs once: the DAG bag is filled once and
    the in-process Execution API, the imports and the tasks' libraries stay loaded between
    runs. Each task's output goes to its log file in Airflow's log folder (``TaskLogFiles``),
    where the Airflow UI shows it. Make it before Airflow is imported: Airflow logs JSON lines
    in this process, as a task's supervisor writes its log (as text, the UI showed each line's
    time twice, its own and the line's, and the task runner's ``::group::`` markers as text)."""

    def __init__(self, log_dir: Path) -> None:
        os.environ["AIRFLOW__LOGGING__JSON_LOGS"] = "True"  # read when Airflow is imported
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self._dags: dict[str, Any] = {}

    def _dag(self, dag_id: str) -> Any:
        if not self._dags:
            from airflow.dag_processing.dagbag import DagBag

            bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
            if bag.import_errors:
                sys.exit(f"the DAG files do not import: {bag.import_errors}")
            self._dags = dict(bag.dags)
        return self._dags[dag_id]

    def run(self, dag_id: str, logical: datetime, conf: dict[str, object]) -> None:
        """One run of ``dag_id`` at ``logical``; its output goes to a log file. Exits with the
        log's tail when the run fails."""
        from airflow.sdk import DagRunState

        from sandbox.tasklogs import TaskLogFiles

        label = f"{dag_id.removeprefix('aftercare_'):<10} {logical:%Y-%m-%d %H:%M %Z}"
        log_file = self.log_dir / f"{dag_id}_{logical:%Y-%m-%dT%H%M}.log"
        log_file.unlink(missing_ok=True)
        shown = (
            log_file.relative_to(PROJECT_ROOT)
            if log_file.is_relative_to(PROJECT_ROOT)
            else log_file
        )
        print(f"run       {label}  (log: {shown})", flush=True)
        started = time.monotonic()
        with output_to(log_file), TaskLogFiles().listening() as tasks:
            # due at the simulated moment: the run id names the night, not the wall clock
            dag_run = self._dag(dag_id).test(run_after=logical, logical_date=logical, run_conf=conf)
        spanned_by_its_tasks(dag_id, dag_run.run_id)
        took = time.monotonic() - started
        if dag_run.state != DagRunState.SUCCESS:
            for log in [log_file, *tasks.failed]:
                tail = log.read_text(errors="replace").splitlines()[-40:]
                print(f"--- {log}\n" + "\n".join(tail))
            sys.exit(f"run {label} FAILED after {took:.1f} s; logs: {log_file}, {tasks.failed}")
        print(f"run       {label}  ok in {took:.1f} s", flush=True)


def spanned_by_its_tasks(dag_id: str, run_id: str) -> None:
    """``dag.test()`` starts a run at its logical date (a simulated moment) and ends it at the
    wall clock, so the UI would show runs lasting days, or less than nothing for one set in the
    future; give the run the span of its task instances, as a scheduled run has."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        spans = [
            (ti.start_date, ti.end_date)
            for ti in run.get_task_instances(session=session)
            if ti.start_date and ti.end_date
        ]
        if spans:
            run.start_date = min(start for start, _ in spans)
            run.end_date = max(end for _, end in spans)


def set_clock(url: str, at: datetime) -> None:
    """Move the sandbox's one clock (ATS, providers, dispatch) forward to ``at``."""
    response = requests.post(
        f"{url}/sandbox/clock/set", params={"at": at.astimezone(UTC).isoformat()}, timeout=120
    )
    response.raise_for_status()


def _warehouse_connection() -> Any:
    """The ``aftercare_warehouse`` connection, from this (non-task) process: the Task SDK reads
    connections only inside tasks, so ask Airflow core (environment, secrets backend, metadata
    database, as a task would find it)."""
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets(WAREHOUSE)


@contextmanager
def local_warehouse() -> Iterator[Connection]:
    """A transaction on the warehouse the ``aftercare_warehouse`` connection names, from this
    (non-task) process. Exits with a clear message when another process holds a DuckDB file."""
    from aftercare import connections, warehouse

    engine = connections.engine_for(_warehouse_connection())
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


def print_coverage(run_dates: list[date], manifest_file: Path) -> None:
    """Which decisions of the planning contract the nights reached (and the planted cases of a
    scenario, if the demo ran one): what `python -m aftercare.coverage` prints."""
    from aftercare import coverage

    cases = json.loads(manifest_file.read_text())["cases"] if manifest_file.exists() else None
    with local_warehouse() as conn:
        text = coverage.report(conn, run_dates[0], run_dates[-1], cases)
    print(f"\n{text}")
    again = f" --cases {manifest_file}" if cases else ""
    print(
        f"\n(again: python -m aftercare.coverage --first-day {run_dates[0]}"
        f" --last-day {run_dates[-1]}{again})"
    )


def fresh_start() -> None:
    """The sandbox's world starts afresh each demo, so the demo's local warehouse, dispatch
    files and preferences store do too (only the local DuckDB file of `bootstrap`; a warehouse
    you pointed elsewhere is left alone)."""
    from aftercare.connections import staging_path
    from aftercare.warehouse import snapshot_path
    from sandbox.bootstrap import LOCAL_WAREHOUSE

    if Path(_warehouse_connection().host or "") != LOCAL_WAREHOUSE:
        return
    snapshot = snapshot_path(LOCAL_WAREHOUSE)  # the readers' copy of the old one
    for path in (LOCAL_WAREHOUSE, LOCAL_WAREHOUSE.with_suffix(".duckdb.wal"), snapshot):
        path.unlink(missing_ok=True)
    root = staging_path(load_config().dispatch.staging_root) / "dispatch"
    if root.exists():
        root.rmdir(recursive=True)
    # the preferences service's store: its events are the last demo's candidates'
    store = PROJECT_ROOT / load_config().preferences.store_path
    for path in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
        path.unlink(missing_ok=True)
    print(
        f"warehouse fresh: {LOCAL_WAREHOUSE.relative_to(PROJECT_ROOT)}, the dispatch files and "
        "the preferences service's store"
    )


def live_story(
    url: str,
    story: Story,
    nights: list[datetime],
    outage: frozenset[tuple[date, int]] = frozenset(),
    preferences: str | None = None,
) -> None:
    """Live the nights against the sandbox at ``url``: each night's nightly run, the day's
    dispatch runs (but those of ``outage``: (day, UTC hour)) and engagement late in the day,
    the sandbox's clock advanced a day between nights; and engagement two weeks after the
    last night, when the reviews and referrals those days earned have come in. With the
    ``preferences`` service's URL, the candidates use their links through it each evening."""
    seen: set[str] = set()  # the emails whose candidates have used their links
    for night, logical in enumerate(nights):
        if night:
            changes = advance_clock(url)
            print(f"sandbox   clock advanced a day: {changes.get('changes')}")
        # night 1 is a full refresh: the sandbox starts its world afresh each demo, so a
        # rerun of the demo replays the same story instead of finding nothing new
        story.run(NIGHTLY, logical, {"full_refresh": night == 0})
        # the day's sends: dispatch at a few moments of the (simulated) day
        for hour in DISPATCH_HOURS_UTC:
            moment = datetime.combine(logical.date(), clock(hour), tzinfo=UTC)
            if (logical.date(), hour) in outage:
                print(f"outage    dispatch   {moment:%Y-%m-%d %H:%M %Z}  does not run (scenario)")
                continue
            set_clock(url, moment)
            story.run(DISPATCH, moment, {})
        # what the candidates did with it, late in the day: their unsubscribe and referral
        # links used through the preferences service, the rest from the providers' feeds
        if preferences:
            acted = use_links(url, preferences, seen)
            print(f"prefs     candidates used their links: {dict(acted) or 'none'}")
        moment = datetime.combine(logical.date(), clock(23, 30), tzinfo=UTC)
        set_clock(url, moment)
        story.run(ENGAGEMENT, moment, {})
    # and two weeks on: the reviews and referrals those days earned (no more sends)
    later = datetime.combine(nights[-1].date() + timedelta(days=14), clock(12), tzinfo=UTC)
    set_clock(url, later)
    story.run(ENGAGEMENT, later, {})


def story_of(
    days: int | None, scenario: str, last_night: date | None = None
) -> tuple[list[datetime], frozenset[tuple[date, int]], SandboxSettings]:
    """The story of ``days`` nights (default 3, the edges scenario's 15) of ``scenario``
    (`make demo`'s, `make cluster`'s): its nightly run times, its dispatch outages and the
    sandbox's settings. The usual story's last night is ``last_night`` (default: today)."""
    zone = ZoneInfo(load_config().agency.time_zone)
    if scenario == "edges":
        nights = days or edges.NIGHTS
        runs = [datetime.combine(edges.day(n), clock(2, 0), tzinfo=zone) for n in range(nights)]
        ats = AtsSandboxSettings(
            clock_start=edges.FIRST_DAY, scenario="edges", placements=EDGES_NOISE
        )
        return runs, frozenset(edges.OUTAGE), SandboxSettings(ats=ats)
    runs = demo_dates(days or 3, last_night or datetime.now(zone).date())
    return runs, frozenset(), SandboxSettings(ats=AtsSandboxSettings(clock_start=runs[0].date()))


def demo(days: int | None, sandbox_port: int, started: float, scenario: str) -> None:
    home = _airflow_home()
    log_dir = home / "logs" / "demo"
    log_dir.mkdir(parents=True, exist_ok=True)
    manifest_file = log_dir / "scenario.json"
    manifest_file.unlink(missing_ok=True)
    runs, outage, settings = story_of(days, scenario)
    story = Story(log_dir)  # first: before Airflow is imported
    # a new world each demo (and the warehouse starts afresh with it); kept for `make airflow`
    kept = KeptWorld.of(home)
    kept.forget()
    world = SandboxWorld(
        settings=settings,
        scenario=scenario,
        days=len(runs),
        first_night=runs[0].date(),
        last_night=runs[-1].date(),
    )
    with sandbox(sandbox_port, world.settings, log_dir, (kept, world)) as ready:
        with step(
            "prepare", "Airflow's metadata database, pools and connections; a fresh warehouse"
        ):
            from sandbox.bootstrap import bootstrap_local

            with output_to(log_dir / "prepare.log"):
                bootstrap_local(sandbox_url(sandbox_port))
            with local_warehouse():  # fail fast if the DuckDB file is held (`make airflow`?)
                pass
            fresh_start()
        url = ready()
        with preferences_service(log_dir) as preferences:
            live_story(url, story, runs, outage, preferences)
        if scenario == "edges":
            manifest = requests.get(f"{url}/sandbox/ats/scenario", timeout=30)
            manifest.raise_for_status()
            manifest_file.write_text(manifest.text)
    print_summary([logical.date() for logical in runs])
    print_coverage([logical.date() for logical in runs], manifest_file)
    print(f"\ndemo      done in {time.time() - started:.0f} s in all (install included)")


def follow_wall_clock(url: str, ahead: timedelta = timedelta(0), every_seconds: float = 30) -> None:
    """Keep the sandbox's clock on the system clock, ``ahead`` of it (until the process
    ends)."""
    while True:
        try:
            set_clock(url, datetime.now(UTC) + ahead)
        except requests.RequestException:
            pass  # the sandbox is stopping or busy: try again next time
        time.sleep(every_seconds)


def airflow_world(home: Path, today: date) -> tuple[SandboxSettings, SandboxWorld | None]:
    """The sandbox `make airflow` runs: the demo's world, continued (the warehouse holds what
    that world did), or without a demo a fresh world from ``today``."""
    world = KeptWorld.of(home).read()
    if world is None:
        return SandboxSettings(ats=AtsSandboxSettings(clock_start=today)), None
    return world.settings, world


def clock_ahead(world: SandboxWorld | None, now: datetime) -> timedelta:
    """How far ahead of the system clock the sandbox's clock runs: a demo's world ended two
    weeks after its last night (its last engagement run), and the warehouse holds what
    happened until then; its clock goes on from there, never back."""
    if world is None or world.clock is None:
        return timedelta(0)
    return max(world.clock - now, timedelta(0))


def stop_group(process: subprocess.Popen, seconds: float = 30) -> None:
    """Stop ``process`` and every process of its group (``airflow standalone`` runs the
    scheduler, the api-server and its workers, the triggerer and the dag-processor as children,
    which a signal to standalone alone leaves running): SIGTERM, then SIGKILL after ``seconds``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return  # the whole group is gone
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            process.poll()  # reap the leader
            if not _alive_in_group(process.pid):
                return
            time.sleep(0.2)


def _alive_in_group(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (a zombie no longer does: whether its
    parent reaps it is not ours to wait for)."""
    for found in psutil.process_iter(["status"]):
        try:
            if os.getpgid(found.pid) == pgid and found.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def airflow_ui(sandbox_port: int) -> None:
    home = _airflow_home()
    log_dir = home / "logs"
    today = datetime.now(ZoneInfo(load_config().agency.time_zone)).date()
    settings, world = airflow_world(home, today)
    kept = (KeptWorld.of(home), world) if world else None
    with ExitStack() as stack:
        ready = stack.enter_context(sandbox(sandbox_port, settings, log_dir, kept))
        from sandbox.bootstrap import bootstrap_local

        bootstrap_local(sandbox_url(sandbox_port))
        url = ready()
        stack.enter_context(preferences_service(log_dir))
        # the sandbox's clock (dispatch's, through aftercare_clock) follows the wall clock here,
        # from where the demo's world stood if that is later
        ahead = clock_ahead(world, datetime.now(UTC))
        threading.Thread(target=follow_wall_clock, args=(url, ahead), daemon=True).start()
        log_file = log_dir / "standalone.log"
        with log_file.open("a") as out:
            # a session (and process group) of its own: stopping it stops its children too
            process = subprocess.Popen(
                ["airflow", "standalone"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
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
            stop_group(process)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.localdev", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_cmd = commands.add_parser("demo", help="run the nightly DAG for a few days, summarise")
    demo_cmd.add_argument(
        "--days", type=int, help="nights to live (default 3; the edges scenario's 15)"
    )
    demo_cmd.add_argument(
        "--scenario",
        choices=("usual", "edges"),
        default="usual",
        help="the sandbox's world: usual, or edges (planted cases of every planning rule, "
        "from 27 February 2026)",
    )
    demo_cmd.add_argument("--sandbox-port", type=int, default=DEFAULT_PORT)
    demo_cmd.add_argument(
        "--started",
        type=float,
        default=time.time(),
        help="when the demo started (Unix time), for the total it prints; make demo passes the "
        "time before its install step",
    )
    ui_cmd = commands.add_parser("airflow", help="the Airflow UI (airflow standalone) and sandbox")
    ui_cmd.add_argument("--sandbox-port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    # stop cleanly on SIGTERM too: the finally blocks stop the sandbox and airflow standalone
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.command == "demo":
        if args.days is not None and args.days < 1:
            parser.error("--days must be at least 1")
        demo(args.days, args.sandbox_port, args.started, args.scenario)
    else:
        airflow_ui(args.sandbox_port)


if __name__ == "__main__":
    main()
