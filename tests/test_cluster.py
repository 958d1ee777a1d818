"""The first morning of `make demo`'s story (the night's run, the 09:00 dispatch, and the
evening's engagement run) through the Celery cluster of `make cluster` (`sandbox.cluster`:
Postgres, Redis, api-server, scheduler, dag-processor, triggerer, two Celery workers), and
through `dag.test()` on DuckDB as the demo runs it, from the same sandbox seed.

The cluster lives its morning the hard way: Twilio answers each text after a delay, so the sms
batch is in flight when the worker running it is lost (SIGKILL to the worker and everything it
started, as a host going down; the host then comes back), and the broker's visibility timeout is
a few seconds, so Redis hands every longer task to a worker again while its first delivery still
runs (Celery's acks_late redelivery). Airflow notices the lost task by its missing heartbeat and
retries it.

What must hold: the cluster's ledger (touchpoint ids, statuses, reasons, channels), run
summaries, marts and report numbers (after the evening's engagement run) equal the demo's
(`tests.test_parity.marts_and_report`: the sandbox's ids, and so the candidates' behaviour,
follow what each call asks, not the order concurrent sends arrive in); every due touchpoint
reached its provider exactly once (the sandbox's lists against the ledger); nothing is left in
doubt; the api-server serves the task logs of both workers.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from datetime import UTC, datetime, time
from types import SimpleNamespace
from typing import Any

import psutil
import pytest
import sqlalchemy as sa
import yaml

from aftercare import connections
from sandbox import SandboxServer, SandboxSettings
from sandbox.ats.settings import AtsSandboxSettings
from sandbox.cluster import (
    STORY_SETTINGS,
    WORKER_ADDRESSES,
    WORKERS,
    Cluster,
    ClusterStory,
    celery_cluster,
    cluster_config,
    last_night,
    wait_for,
)
from sandbox.localdev import (
    DISPATCH,
    DISPATCH_HOURS_UTC,
    ENGAGEMENT,
    NIGHTLY,
    Story,
    set_clock,
    story_of,
)
from tests import point_connections_at
from tests.test_dispatch import faults, ledger_rows, received, sent_by_touchpoint
from tests.test_parity import marts_and_report

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SEED, PLACEMENTS = 11, 3000
#: Twilio's delay per text: the sms batch runs long enough to lose its worker mid-send
TWILIO_LATENCY_MS = 2000
SETTINGS = {
    **STORY_SETTINGS,
    # a task whose worker is gone is noticed within seconds (its heartbeat stops)
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "45",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    # Redis hands a task to a worker again when its delivery is unacknowledged this long
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "5",
}
REDELIVERED = "Task already running elsewhere, ignoring redelivered message"


@pytest.fixture(scope="module")
def story() -> SimpleNamespace:
    """The first night of the usual story (a small world) two weeks and a day ago (as `make
    cluster` lives it: the scheduler runs no logical date in the future)."""
    runs, _, settings = story_of(1, "usual", last_night())
    ats = AtsSandboxSettings(clock_start=settings.ats.clock_start, placements=PLACEMENTS)
    return SimpleNamespace(night=runs[0], settings=SandboxSettings(seed=SEED, ats=ats))


def first_morning(url: str, runner: Story | ClusterStory, night: datetime) -> None:
    """The night's run, the morning's dispatch at the sandbox's 09:00, and the evening's
    engagement run (as `live_story`)."""
    runner.run(NIGHTLY, night, {"full_refresh": True})
    morning = datetime.combine(night.date(), time(DISPATCH_HOURS_UTC[0]), tzinfo=UTC)
    set_clock(url, morning)
    runner.run(DISPATCH, morning, {})
    evening = datetime.combine(night.date(), time(23, 30), tzinfo=UTC)
    set_clock(url, evening)
    runner.run(ENGAGEMENT, evening, {})


def outcome(engine: sa.Engine) -> dict[str, Any]:
    """What the day left in the warehouse: the ledger, the run summaries, the marts and the
    report's numbers."""
    with engine.connect() as conn:
        ledger = conn.execute(
            sa.text(
                "select touchpoint_id, status, reason, channel from aftercare.touchpoints"
                " order by touchpoint_id"
            )
        ).all()
        summaries = conn.execute(
            sa.text("select dag_id, run_date, counts from aftercare.run_summaries order by 1, 2")
        ).all()
    counts = [(dag, day, json.loads(c) if isinstance(c, str) else c) for dag, day, c in summaries]
    return {
        "ledger": [tuple(row) for row in ledger],
        "summaries": counts,
        "marts": marts_and_report(engine),
    }


@pytest.fixture(scope="module")
def demo(story: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The story as `make demo` lives it: dag.test() in this process, on DuckDB."""
    from airflow.utils.db import resetdb

    from aftercare.bootstrap import create_pools

    home = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch, SandboxServer(story.settings) as server:
        point_connections_at(server, patch)
        connection = {"conn_type": "duckdb", "host": str(home / "warehouse.duckdb")}
        patch.setenv("AIRFLOW_CONN_AFTERCARE_WAREHOUSE", json.dumps(connection))
        resetdb()
        create_pools()
        first_morning(server.url, Story(home / "logs"), story.night)
        engine = connections.warehouse_engine()
        try:
            return outcome(engine)
        finally:
            engine.dispose()


class WorkerLoss(threading.Thread):
    """Waits until the dispatch run's sms batch is being sent, then loses the worker running
    it (SIGKILL to it and everything it started) and brings that host back."""

    def __init__(self, cluster: Cluster, sandbox: SandboxServer) -> None:
        super().__init__(daemon=True)
        self.cluster, self.sandbox = cluster, sandbox
        self.lost: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            wait_for("texts under way", lambda: len(received(self.sandbox, "twilio")) >= 2, 600)
            self.lost = wait_for("the sms batch's worker", self._sending_worker, timeout=60)
            self.cluster.kill_host(self.lost)
            self.cluster.start(self.lost)
        except BaseException as exc:  # noqa: BLE001 (the test reports it)
            self.error = exc

    def _sending_worker(self) -> str | None:
        """The worker whose session runs a send_sms task (its title names its instance)."""
        runs = self.cluster.api("GET", f"/dags/{DISPATCH}/dagRuns")["dag_runs"]
        running = {
            t["id"]
            for run in runs
            for t in self.cluster.task_instances(DISPATCH, run["dag_run_id"])
            if t["task_id"] == "send_sms" and t["state"] == "running"
        }
        workers = {self.cluster.processes[name].pid: name for name in WORKERS}
        for process in psutil.process_iter(["cmdline"]):
            title = " ".join(process.info["cmdline"] or [])
            if title.startswith("airflow worker -- ") and title.split()[-1] in running:
                try:
                    return workers.get(os.getsid(process.pid))
                except ProcessLookupError:
                    continue
        return None


def served_logs(cluster: Cluster) -> dict[str, list[str]]:
    """Per worker, the log of a task it ran as the api-server serves it (the api-server
    fetches it from the worker's log server): its events."""
    workers = {address: name for name, address in WORKER_ADDRESSES.items()}
    served: dict[str, list[str]] = {}
    for dag_id in (NIGHTLY, DISPATCH):
        for run in cluster.api("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]:
            for ti in cluster.task_instances(dag_id, run["dag_run_id"]):
                worker = workers.get(ti["hostname"])
                if worker is None or worker in served or ti["state"] != "success":
                    continue
                path = f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances"
                log = cluster.api(
                    "GET",
                    f"{path}/{ti['task_id']}/logs/{ti['try_number']}",
                    params={"map_index": ti["map_index"]},
                )
                served[worker] = [str(line.get("event")) for line in log["content"]]
    return served


@pytest.fixture(scope="module")
def cluster_lived(
    story: SimpleNamespace, postgres_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> SimpleNamespace:
    """The story through the cluster on a Postgres warehouse, a worker lost mid-send."""
    home = tmp_path_factory.mktemp("cluster")
    with (
        pytest.MonkeyPatch.context() as patch,
        SandboxServer(story.settings) as server,
        postgres_server.database() as metadata,
        postgres_server.database() as warehouse_uri,
    ):
        point_connections_at(server, patch)
        patch.setenv("AIRFLOW_CONN_AFTERCARE_WAREHOUSE", warehouse_uri)
        config = cluster_config(home)
        settings = yaml.safe_load(config.read_text())
        # one text at a time: the batch is in flight for seconds
        settings["dispatch"]["providers"]["twilio"]["concurrency"] = 1
        settings["dispatch"]["timeout_seconds"] = 10  # the latency is no fault: no answer lost
        config.write_text(yaml.safe_dump(settings))
        patch.setenv("AFTERCARE_CONFIG", str(config))
        faults(server, "twilio", latency_ms=TWILIO_LATENCY_MS)
        engine = connections.warehouse_engine()
        with celery_cluster(home, metadata, SETTINGS) as cluster:
            loss = WorkerLoss(cluster, server)
            loss.start()
            first_morning(server.url, ClusterStory(cluster, timeout=400), story.night)
            loss.join(timeout=1)
            runs = cluster.api("GET", f"/dags/{DISPATCH}/dagRuns")["dag_runs"]
            sends = [
                t
                for run in runs
                for t in cluster.task_instances(DISPATCH, run["dag_run_id"])
                if t["task_id"].startswith("send_")
            ]
            logs = "".join(cluster.log(name) for name in WORKERS)
            served = served_logs(cluster)
        try:
            return SimpleNamespace(
                loss=loss,
                sends=sends,
                worker_logs=logs,
                served_logs=served,
                outcome=outcome(engine),
                rows=ledger_rows(engine),
                texts=received(server, "twilio"),
                emails=received(server, "sendgrid"),
                per_touchpoint=sent_by_touchpoint(server),
            )
        finally:
            engine.dispose()


def test_the_cluster_lives_the_demos_morning_exactly_once(
    cluster_lived: SimpleNamespace, demo: dict
) -> None:
    """One test (the cluster and the demo are costly; tests split over pytest-xdist workers
    would each start them): parity, a worker lost mid-send, redeliveries."""
    # a worker was lost mid-send, and its try retried to the end
    loss = cluster_lived.loss
    assert loss.error is None, loss.error
    assert loss.lost in WORKERS, "no worker was lost mid-send"
    sends = cluster_lived.sends
    sms = [t for t in sends if t["task_id"] == "send_sms"]
    assert max(t["try_number"] for t in sms) >= 2, sms
    states = [
        (t["task_id"], t["map_index"], t["try_number"], t["state"]) for t in cluster_lived.sends
    ]
    # every batch sent (a channel with nothing due maps no batch: its task is skipped)
    assert all(state == "success" or index == -1 for _, index, _, state in states), states
    assert ("send_sms", 0, max(t["try_number"] for t in sms), "success") in states, states

    # Redis gave running tasks to a worker again (the visibility timeout is shorter than the
    # sms batch); the second delivery did not run them
    assert REDELIVERED in cluster_lived.worker_logs

    # each due touchpoint reached its provider once, the ledger names every message the
    # providers hold (texts by Twilio, emails and video links by SendGrid; call tasks go to
    # the ATS), and nothing is left in doubt
    assert set(cluster_lived.per_touchpoint.values()) == {1}
    rows = cluster_lived.rows.values()
    by_message = Counter(r["status"] for r in rows if r["channel"] in ("sms", "email", "video"))
    assert len(cluster_lived.texts) + len(cluster_lived.emails) == by_message["sent"], by_message
    sent_ids = {row["provider_message_id"] for row in rows if row["status"] == "sent"}
    assert {m["sid"] for m in cluster_lived.texts} <= sent_ids
    assert not any(row["in_doubt"] for row in rows)

    # the api-server serves the task logs of both workers, each from the worker's own log
    # server (at the address its tasks report as their hostname)
    assert set(cluster_lived.served_logs) == set(WORKERS), "a worker ran no task"
    for worker, events in cluster_lived.served_logs.items():
        assert any(e.startswith(f"http://{WORKER_ADDRESSES[worker]}:") for e in events), events
        assert any(e.startswith("Done. Returned value was") for e in events), events

    # same seed, same day: the same touchpoints, outcomes, run summaries, marts and report
    lived = cluster_lived.outcome
    assert lived["ledger"], "the story planned nothing: no parity to check"
    assert lived["ledger"] == demo["ledger"]
    assert lived["summaries"] == demo["summaries"]
    funnel = [dict(row) for row in lived["marts"]["touchpoint_funnel"]]
    assert sum(row["delivered"] for row in funnel), "nothing delivered: no engagement compared"
    for name, rows in demo["marts"].items():
        assert lived["marts"][name] == rows, (name, set(rows) ^ set(lived["marts"][name]))
