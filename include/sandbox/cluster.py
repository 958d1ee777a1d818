"""Airflow as a team runs it across hosts, on one machine: the one launcher behind `make cluster`
and the tests that need a real scheduler (not `dag.test()`).

    python -m sandbox.cluster [--days N] [--port 8080] [--sandbox-port 8765] [--started EPOCH]

A throwaway PostgreSQL server (`sandbox.postgres`) holds Airflow's metadata and the warehouse
(two databases); Debian's ``redis-server`` is the Celery broker; then the api-server, the
dag-processor, the scheduler, the triggerer and two Celery workers, each its own process group,
each worker with its own Celery hostname, working directory, log folder and address (as on two
hosts: its tasks report the address as their hostname, and its log server listens there, so the
api-server shows the task logs of both), sharing only the DAGs, the config and the staging
root. The settings every host shares come from ``docker/airflow-cluster.env``, which
docker-compose.yaml reads too.

`make cluster` lives the story of `make demo` (`sandbox.localdev.live_story`: the sandbox, its
simulated clock, N days of nightly, dispatch and engagement runs) through the scheduler: each run
is triggered over the REST API with its logical date and awaited; then it prints the same summary
and where the UI is. Everything it started stops on exit, on Ctrl-C and on failure.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import requests
import yaml
from dotenv import dotenv_values
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from aftercare import PROJECT_ROOT
from aftercare.hostname import HOSTNAME_ENV
from sandbox.bootstrap import PREFERENCES_PORT
from sandbox.ports import free_port, port_taken
from sandbox.smtp import DEFAULT_SMTP_PORT

#: The settings every Airflow host of the cluster shares (docker-compose.yaml reads it too).
SHARED_SETTINGS = PROJECT_ROOT / "docker" / "airflow-cluster.env"
#: seconds without a heartbeat after which a scheduler counts as dead
HEALTH_CHECK_THRESHOLD = 10
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
#: The Celery workers `make cluster` starts (two, as on two hosts).
WORKERS = ("worker-1", "worker-2")
#: Each worker's address, as a host of its own would have (Linux routes all of 127.0.0.0/8 to
#: the loopback interface): the hostname its tasks report (`aftercare.hostname`), where its log
#: server listens (on the one worker log server port that the api-server asks every worker on).
WORKER_ADDRESSES = {name: f"127.0.0.{11 + i}" for i, name in enumerate(WORKERS)}
#: The process serving each worker's task logs (Airflow's log server app, at its address).
LOG_SERVERS = {name: f"{name}-log-server" for name in WORKERS}
#: Each process of the cluster and its `airflow` command. A worker serves its logs from a log
#: server of its own (`LOG_SERVERS`): Airflow's would listen on every address.
COMMANDS = {
    "api-server": ["api-server", "--host", "127.0.0.1"],
    "dag-processor": ["dag-processor"],
    "scheduler": ["scheduler"],
    "triggerer": ["triggerer"],
    **{
        name: ["celery", "worker", "--celery-hostname", f"{name}@%h", "--skip-serve-logs"]
        for name in WORKERS
    },
}
#: What `make cluster` starts, and the docker-compose.yaml service of each (tests/test_compose.py).
COMPOSE_SERVICES = {
    "postgres (metadata)": "airflow-db",
    "postgres (warehouse)": "warehouse",
    "redis": "redis",
    "api-server": "airflow-apiserver",
    "dag-processor": "airflow-dag-processor",
    "scheduler": "airflow-scheduler",
    "triggerer": "airflow-triggerer",
    **{name: "airflow-worker" for name in WORKERS},
    **{server: "airflow-worker" for server in LOG_SERVERS.values()},
}
REDIS_MISSING = (
    "redis-server (the Celery broker) is not installed: apt-get install redis-server "
    "(.ci/run installs it)"
)


def taken_ports(ports: list[tuple[int, str]]) -> str | None:
    """What is wrong with the fixed ports a command needs (``ports``: each with what it is
    for and how to choose another), or None when every one is free."""
    if len({port for port, _ in ports}) < len(ports):
        return f"two of its servers would share a port ({', '.join(w for _, w in ports)})"
    taken = [f"port {port} ({what}) is taken" for port, what in ports if port_taken(port)]
    return "\n  ".join(taken) or None


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
    """``check()``'s first truthy value, asked every ``every`` seconds for up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def shared_settings() -> dict[str, str]:
    """``docker/airflow-cluster.env``: the settings every Airflow host shares."""
    return {key: value or "" for key, value in dotenv_values(SHARED_SETTINGS).items()}


class Cluster:
    """The processes of an Airflow cluster on a Postgres metadata database: with a ``broker``
    (a Redis URL) the CeleryExecutor and its workers, without one the LocalExecutor (tasks run
    inside the scheduler). ``settings`` override any setting (tests: short timeouts); ``port``:
    the api-server's (by default a free one)."""

    def __init__(
        self,
        home: Path,
        metadata_uri: str,
        dags_folder: Path,
        broker: str | None = None,
        settings: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.home, self.port = home, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        metadata = metadata_uri.replace("postgresql://", "postgresql+psycopg2://", 1)
        self.env = {
            **os.environ,
            **shared_settings(),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            # signs the api-server's requests for a task's log to a worker's log server
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            # the api-server fetches a task's log from http://<its hostname>:<this port>: each
            # worker's log server listens on this port at the worker's own address
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # a dead scheduler is noticed, and its running tasks reset, within seconds (a live
            # one heartbeats every 2 s: on a busy machine, a beat may come seconds late)
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": str(HEALTH_CHECK_THRESHOLD),
            "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
        }
        if broker:
            self.env["AIRFLOW__CELERY__BROKER_URL"] = broker
            self.env["AIRFLOW__CELERY__RESULT_BACKEND"] = f"db+{metadata}"
        else:
            self.env["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
            self.env["AIRFLOW__CORE__PARALLELISM"] = "8"
        self.env.update(settings or {})
        self.processes: dict[str, subprocess.Popen] = {}
        self.orphans: list[psutil.Process] = []
        self.groups: set[int] = set()
        self._token: str | None = None

    # -- processes -----------------------------------------------------------------------------

    def run(self, *argv: str) -> None:
        """A one-off command in the cluster's environment (its output in the failure)."""
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"{argv}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")

    def start(self, name: str) -> None:
        """Start process ``name`` in a process group of its own; a worker as on a host of its
        own: in its own working directory, with its own log folder and address, and its log
        server beside it."""
        if name not in WORKERS:
            self._spawn(name, [AIRFLOW, *COMMANDS[name]], self.env)
            return
        cwd = self.home / name
        (cwd / "logs").mkdir(parents=True, exist_ok=True)
        env = {
            **self.env,
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(cwd / "logs"),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "aftercare.hostname.hostname",
            HOSTNAME_ENV: WORKER_ADDRESSES[name],
        }
        serve = [sys.executable, "-m", "uvicorn", "--factory"]
        serve += ["airflow.utils.serve_logs.log_server:get_app", "--no-access-log"]
        serve += ["--host", WORKER_ADDRESSES[name]]
        serve += ["--port", env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"]]
        self._spawn(LOG_SERVERS[name], serve, env, cwd)
        self._spawn(name, [AIRFLOW, *COMMANDS[name]], env, cwd)

    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str], cwd: Path | None = None
    ) -> None:
        with (self.home / f"{name}.log").open("a") as log:
            process = subprocess.Popen(
                argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes[name] = process
        self.groups.add(process.pid)

    def kill(self, name: str) -> None:
        """SIGKILL to the process alone: its children (a scheduler's executor workers) live
        on, those running a task until it ends; then `reap` stops them."""
        process = self.processes.pop(name)
        self.orphans += psutil.Process(process.pid).children()
        process.kill()
        process.wait()
        self.reap()

    def kill_host(self, name: str) -> None:
        """SIGKILL to worker ``name`` and everything it started (its pool, the task
        supervisors and tasks it runs) and to its log server, at once: the host it stands for
        is lost."""
        for process in (self.processes.pop(name), self.processes.pop(LOG_SERVERS[name])):
            for found in self._session(process.pid):
                found.kill()
            process.wait()

    def _session(self, sid: int) -> list[psutil.Process]:
        found = []
        for candidate in psutil.process_iter():
            try:
                if os.getsid(candidate.pid) == sid:
                    found.append(candidate)
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
        return found

    def reap(self) -> None:
        """Stop a killed process's children (its executor workers once idle, as the runbook
        tells ops, and its log server): forked from the scheduler, they hold its database
        connection, whose open transaction locks
        the dag run it was scheduling for as long as one of them lives."""
        for worker in list(self.orphans):
            try:
                title = " ".join(worker.cmdline())
                # every child but an executor worker running a task (its log server too)
                worker_title = title.startswith("airflow worker -- LocalExecutor:")
                busy = worker_title and "<idle>" not in title
                if not busy:
                    worker.kill()
                    self.orphans.remove(worker)
            except psutil.NoSuchProcess:
                self.orphans.remove(worker)

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for group in self.groups:
                try:
                    os.killpg(group, sig)
                except ProcessLookupError:
                    pass
            if sig == signal.SIGTERM:
                for process in list(self.processes.values()):
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        pass
        # task runners run in process groups of their own (one whose supervisor was killed
        # lives on outside every group above), but in the session of the process that
        # started them
        for group in self.groups:
            for process in self._session(group):
                process.kill()

    def check_alive(self) -> None:
        """Raise if a process of the cluster has exited (say, its port was taken)."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {process.returncode}: {self.home / name}.log"
                )

    def silent_for(self, name: str) -> float:
        """Seconds since the process last wrote to its log."""
        return time.time() - (self.home / f"{name}.log").stat().st_mtime

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(errors="replace")

    # -- the REST API --------------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """A call to the REST API; a read that times out or finds no server (a busy machine's
        api-server answers late) is asked again, a few times."""
        if self._token is None:
            response = requests.get(f"{self.url}/auth/token", timeout=30)
            response.raise_for_status()
            self._token = response.json()["access_token"]
        retrying = Retrying(
            retry=retry_if_exception_type(requests.RequestException),
            stop=stop_after_attempt(5 if method == "GET" else 1),
            wait=wait_fixed(2),
            reraise=True,
        )
        response = retrying(
            requests.request,
            method,
            f"{self.url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=60,
            **kwargs,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def health(self) -> dict[str, Any] | None:
        """The api-server's health report (None: it does not answer yet); fails when a process
        of the cluster has exited."""
        self.check_alive()
        try:
            response = requests.get(f"{self.url}/api/v2/monitor/health", timeout=10)
        except requests.RequestException:
            return None
        return response.json() if response.status_code == 200 else None

    def scheduler_healthy(self) -> bool:
        health = self.health()
        return health is not None and health["scheduler"]["status"] == "healthy"

    def parsed(self, dag_id: str) -> None:
        """Wait until the dag-processor has parsed ``dag_id``."""
        wait_for(f"{dag_id} parsed", lambda: self._parsed(dag_id), timeout=180)

    def unpause(self, dag_id: str) -> str:
        """Unpause ``dag_id`` (once the dag-processor has parsed it): the scheduler starts the
        run of its latest schedule at once (catchup off). That run's id."""
        self.parsed(dag_id)
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        runs = wait_for(
            f"a run of {dag_id}",
            lambda: self.api("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"],
            timeout=60,
        )
        return runs[0]["dag_run_id"]

    def trigger(self, dag_id: str, logical: datetime, conf: dict[str, object]) -> str:
        """Trigger a run of ``dag_id`` at ``logical`` (unpaused, so that the scheduler runs it),
        with the run id `dag.test()` gives it; its id."""
        self.parsed(dag_id)
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        run = self.api(
            "POST",
            f"/dags/{dag_id}/dagRuns",
            json={
                "dag_run_id": f"manual__{logical.isoformat()}",
                "logical_date": logical.isoformat(),
                "conf": conf,
            },
        )
        return run["dag_run_id"]

    def _parsed(self, dag_id: str) -> bool:
        try:
            self.api("GET", f"/dags/{dag_id}")
        except RuntimeError:
            return False
        return True

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.api(
            "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000}
        )["task_instances"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        def done() -> str | None:
            self.reap()
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return wait_for(f"run {run_id} of {dag_id} done", done, timeout, every=1)


@contextmanager
def redis(home: Path) -> Iterator[str]:
    """Debian's redis-server on a free port for the duration of the block (nothing kept on
    disk); yields its URL."""
    import redis as client

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(REDIS_MISSING)
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    with (home / "redis.log").open("a") as log:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(home)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ping = client.Redis(port=port, socket_connect_timeout=1)

        def answers() -> bool:
            try:
                return bool(ping.ping())
            except client.ConnectionError:
                if process.poll() is not None:
                    raise RuntimeError(f"redis-server exited: {home / 'redis.log'}") from None
                return False

        wait_for("redis-server answers", answers, timeout=30, every=0.2)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


@contextmanager
def running(
    home: Path,
    metadata_uri: str,
    dags_folder: Path,
    processes: tuple[str, ...] = tuple(COMMANDS),
    broker: str | None = None,
    settings: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[Cluster]:
    """A running cluster (``processes``, by default all of them; the api-server on ``port``,
    by default a free one) on an empty metadata database, with the config's pools; every
    process stopped afterwards. Without a dag-processor, the DAG files are serialized once
    before the api-server starts."""
    cluster = Cluster(home, metadata_uri, dags_folder, broker, settings, port)
    try:
        cluster.run(sys.executable, "-m", "aftercare.bootstrap")  # migrate, pools
        if "dag-processor" not in processes:
            cluster.run(AIRFLOW, "dags", "reserialize")
        for name in processes:
            cluster.start(name)
        if "scheduler" in processes:
            wait_for("scheduler healthy (api-server up)", cluster.scheduler_healthy, timeout=180)
        else:
            wait_for("api-server up", cluster.health, timeout=180)
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def celery_cluster(
    home: Path,
    metadata_uri: str,
    settings: dict[str, str] | None = None,
    processes: tuple[str, ...] = tuple(COMMANDS),
    port: int | None = None,
) -> Iterator[Cluster]:
    """The cluster's ``processes`` (by default every one), Celery workers on a Redis broker of
    its own, over the project's DAG folder; the api-server on ``port`` (by default a free
    one)."""
    with redis(home / "redis") as broker:
        with running(
            home, metadata_uri, PROJECT_ROOT / "dags", processes, broker, settings, port
        ) as cluster:
            yield cluster


class ClusterStory:
    """The runs of `sandbox.localdev.live_story`, through the cluster's scheduler: each
    triggered with its logical date and awaited (never run in this process)."""

    def __init__(self, cluster: Cluster, timeout: float = 900) -> None:
        self.cluster, self.timeout = cluster, timeout

    def run(self, dag_id: str, logical: datetime, conf: dict[str, object]) -> None:
        label = f"{dag_id.removeprefix('aftercare_'):<10} {logical:%Y-%m-%d %H:%M %Z}"
        print(f"run       {label}  (through the scheduler)", flush=True)
        started = time.monotonic()
        run_id = self.cluster.trigger(dag_id, logical, conf)
        state = self.cluster.wait_for_run(dag_id, run_id, self.timeout)
        took = time.monotonic() - started
        if state != "success":
            failed = [
                t["task_id"]
                for t in self.cluster.task_instances(dag_id, run_id)
                if t["state"] != "success"
            ]
            raise RuntimeError(f"run {label} {state} after {took:.1f} s; tasks: {failed}")
        print(f"run       {label}  ok in {took:.1f} s", flush=True)


def cluster_config(home: Path) -> Path:
    """The config of the cluster's story: the project's, with the dispatch staging root (the
    file system every worker shares), the quality project, the report and the preferences
    store under ``home``."""
    from aftercare.config import config_path

    config = yaml.safe_load(config_path().read_text())
    config["dispatch"]["staging_root"] = str(home / "staging")
    config["quality"]["gx_project_dir"] = str(home / "quality")
    config["engagement"]["report_path"] = str(home / "report" / "aftercare.html")
    config["preferences"]["store_path"] = str(home / "preferences" / "events.sqlite")
    path = home / "aftercare-cluster.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextmanager
def story_environment(home: Path) -> Iterator[str]:
    """Postgres for the metadata and the warehouse, and this process's environment (which the
    cluster's processes inherit) pointed at them and at the cluster's config; yields the
    metadata database's URI."""
    from aftercare.config import CONFIG_ENV
    from sandbox.postgres import server

    with server() as postgres, postgres.database() as metadata, postgres.database() as warehouse:
        os.environ.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata.replace(
                    "postgresql://", "postgresql+psycopg2://", 1
                ),
                "AIRFLOW_CONN_AFTERCARE_WAREHOUSE": warehouse,
                CONFIG_ENV: str(cluster_config(home)),
            }
        )
        yield metadata


#: The story's runs are the ones it triggers: the schedules' own runs (by the wall clock, not the
#: sandbox's) would come between them.
STORY_SETTINGS = {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
#: How many days before today the cluster story's last night is (`last_night`).
STORY_LAG_DAYS = 15


def last_night() -> date:
    """The cluster story's last night: two weeks and a day ago (agency time). Airflow's
    scheduler runs no logical date in the future, and the story's last run (engagement) is two
    weeks after its last night."""
    from zoneinfo import ZoneInfo

    from aftercare.config import load_config

    today = datetime.now(ZoneInfo(load_config().agency.time_zone)).date()
    return today - timedelta(days=STORY_LAG_DAYS)


def story(
    days: int | None,
    port: int,
    sandbox_port: int,
    started: float,
    home: Path,
    stay: bool = False,
) -> None:
    """`make cluster`: the demo's story through the cluster (the api-server on ``port``), its
    summary and the UI's URL; with ``stay``, the cluster stays up for the UI until Ctrl-C."""
    from sandbox import localdev

    log_dir = home / "logs" / "cluster"
    log_dir.mkdir(parents=True, exist_ok=True)
    with story_environment(home) as metadata:
        runs, outage, settings = localdev.story_of(days, "usual", last_night())
        with localdev.sandbox(sandbox_port, settings, log_dir) as ready:
            with localdev.step("prepare", "Airflow's metadata (Postgres), pools and connections"):
                from sandbox.bootstrap import bootstrap_local

                with localdev.output_to(log_dir / "prepare.log"):
                    bootstrap_local(localdev.sandbox_url(sandbox_port))
            url = ready()
            with ExitStack() as stack:
                preferences = stack.enter_context(localdev.preferences_service(log_dir))
                with localdev.step(
                    "cluster",
                    "redis, api-server, scheduler, dag-processor, triggerer and two Celery workers",
                ):
                    cluster = stack.enter_context(
                        celery_cluster(home, metadata, STORY_SETTINGS, port=port)
                    )
                print(f"cluster   Airflow UI {cluster.url} (process logs: {home}/*.log)")
                localdev.live_story(url, ClusterStory(cluster), runs, outage, preferences)
                localdev.print_summary([logical.date() for logical in runs])
                print(
                    f"\ncluster   done in {time.time() - started:.0f} s in all (install included)"
                )
                if not stay:
                    print("cluster   stops now (run from a terminal, it stays up for the UI)")
                    return
                print(f"cluster   Airflow UI {cluster.url} (every user an admin)")
                print(f"cluster   stays up for the UI; stop: Ctrl-C (files kept in {home})")
                while True:
                    time.sleep(3600)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.cluster", description=__doc__)
    parser.add_argument("--days", type=int, help="nights to live (default 3)")
    parser.add_argument("--port", type=int, default=8080, help="the Airflow UI's (api-server)")
    parser.add_argument("--sandbox-port", type=int, default=8765)
    parser.add_argument("--started", type=float, default=time.time())
    parser.add_argument(
        "--home", type=Path, help="where the cluster's files go (default: a fresh temporary one)"
    )
    args = parser.parse_args(argv)
    if args.days is not None and args.days < 1:
        parser.error("--days must be at least 1")
    taken = taken_ports(
        [
            (args.port, "the Airflow UI: CLUSTER_PORT=N, or --port N"),
            (args.sandbox_port, "the sandbox: SANDBOX_PORT=N, or --sandbox-port N"),
            (DEFAULT_SMTP_PORT, "the sandbox's SMTP sink, as in make demo: is a demo running?"),
            (PREFERENCES_PORT, "the preferences service, as in make demo: is a demo running?"),
        ]
    )
    if taken:
        sys.exit(f"make cluster cannot start:\n  {taken}")
    if shutil.which("redis-server") is None:
        sys.exit(REDIS_MISSING)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    home = args.home or Path(tempfile.mkdtemp(prefix="aftercare-cluster-"))
    try:
        story(args.days, args.port, args.sandbox_port, args.started, home, stay=sys.stdin.isatty())
    except KeyboardInterrupt:
        print("cluster   stopped (Ctrl-C)")


if __name__ == "__main__":
    main()
