"""Airflow as it runs in production, for the tests that need a real scheduler (not `dag.test()`):
an api-server, a dag-processor and a scheduler with the LocalExecutor, each its own process
group, on a Postgres metadata database, with a DAG folder of the DAG files the test names.

The processes inherit the test's environment (its connections and config), so their tasks reach
the same sandbox and warehouse. `Cluster.kill` kills one process alone (as a crash would: a
killed scheduler's LocalExecutor workers live on); `Cluster.stop` ends every process group.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import requests

from tests import ROOT

#: seconds without a heartbeat after which a scheduler counts as dead
HEALTH_CHECK_THRESHOLD = 10
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
COMMANDS = {
    "api-server": ["api-server", "--host", "127.0.0.1"],
    "dag-processor": ["dag-processor"],
    "scheduler": ["scheduler"],
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


class Cluster:
    def __init__(self, home: Path, metadata_uri: str, dag_files: list[str]) -> None:
        self.home, self.port = home, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        dags = home / "dags"
        dags.mkdir(parents=True)
        for name in dag_files:  # the DAG file and its runbook beside it
            for path in (ROOT / "dags").glob(f"{name}.*"):
                shutil.copy(path, dags / path.name)
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_uri.replace(
                "postgresql://", "postgresql+psycopg2://", 1
            ),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
            # a dead scheduler is noticed, and its running tasks reset, within seconds (a live
            # one heartbeats every 2 s: on a busy machine, a beat may come seconds late)
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": str(HEALTH_CHECK_THRESHOLD),
            "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "5",
        }
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
        log = (self.home / f"{name}.log").open("a")
        process = subprocess.Popen(
            [AIRFLOW, *COMMANDS[name]],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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
        for process in psutil.process_iter():
            try:
                if os.getsid(process.pid) in self.groups:
                    process.kill()
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass

    def silent_for(self, name: str) -> float:
        """Seconds since the process last wrote to its log."""
        return time.time() - (self.home / f"{name}.log").stat().st_mtime

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(errors="replace")

    # -- the REST API --------------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._token is None:
            response = requests.get(f"{self.url}/auth/token", timeout=10)
            response.raise_for_status()
            self._token = response.json()["access_token"]
        response = requests.request(
            method,
            f"{self.url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=30,
            **kwargs,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def health(self) -> dict[str, Any] | None:
        """The api-server's health report (None: it does not answer yet)."""
        try:
            response = requests.get(f"{self.url}/api/v2/monitor/health", timeout=10)
        except requests.RequestException:
            return None
        return response.json() if response.status_code == 200 else None

    def scheduler_healthy(self) -> bool:
        health = self.health()
        return health is not None and health["scheduler"]["status"] == "healthy"

    def unpause(self, dag_id: str) -> str:
        """Unpause ``dag_id`` (once the dag-processor has parsed it): the scheduler starts the
        run of its latest schedule at once (catchup off). That run's id."""
        wait_for(f"{dag_id} parsed", lambda: self._parsed(dag_id), timeout=120)
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        runs = wait_for(
            f"a run of {dag_id}",
            lambda: self.api("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"],
            timeout=60,
        )
        return runs[0]["dag_run_id"]

    def _parsed(self, dag_id: str) -> bool:
        try:
            self.api("GET", f"/dags/{dag_id}")
        except RuntimeError:
            return False
        return True

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        def done() -> str | None:
            self.reap()
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return wait_for(f"run {run_id} of {dag_id} done", done, timeout, every=1)


@contextmanager
def cluster(
    home: Path,
    metadata_uri: str,
    dag_files: list[str],
    processes: tuple[str, ...] = tuple(COMMANDS),
) -> Iterator[Cluster]:
    """A running cluster (api-server, dag-processor, scheduler: or those of ``processes``) on an
    empty metadata database, with the config's pools; every process stopped afterwards. Without
    a dag-processor, the DAG files are serialized once before the api-server starts."""
    running = Cluster(home, metadata_uri, dag_files)
    try:
        running.run(sys.executable, "-m", "aftercare.bootstrap")  # migrate, pools
        if "dag-processor" not in processes:
            running.run(AIRFLOW, "dags", "reserialize")
        for name in processes:
            running.start(name)
        if "scheduler" in processes:
            wait_for("scheduler healthy (api-server up)", running.scheduler_healthy, timeout=180)
        else:
            wait_for("api-server up", running.health, timeout=180)
        yield running
    finally:
        running.stop()
