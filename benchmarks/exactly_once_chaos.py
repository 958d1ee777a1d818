"""Exactly once under chaos: the dispatch DAG under a real scheduler while processes die and
providers fail (a benchmark, not a test: it runs for minutes and prints figures).

    .venv/bin/python benchmarks/exactly_once_chaos.py [--per-channel 500] [--minutes 8]
        [--latency-ms 200] [--fault-share 0.04] [--kill-every 5] [--concurrency 4] [--seed 7]

Starts the sandbox (its ATS and providers), a DuckDB warehouse with ``--per-channel`` planned
touchpoints due now on each channel (email, sms, video by email, recruiter call task), a
throwaway PostgreSQL server for Airflow's metadata, and a cluster like production's
(api-server, dag-processor, scheduler with the LocalExecutor; ``tests/airflow_cluster.py``).
Every provider answers after ``--latency-ms`` (``--concurrency`` calls at a time per batch, so a
batch lasts long enough for kills to land inside it) and fails ``--fault-share`` of its calls with a
429, a 500 or a timeout after accepting the call. Dispatch runs one after another; while they
run, every ``--kill-every`` seconds one of these dies by SIGKILL: a send task's runner, a send
task's supervisor, or the scheduler (restarted once it has been dead past its health-check
threshold). The chaos stops once nothing is left to send, or after ``--minutes``; runs go on,
undisturbed, until nothing is due.

Prints the kills, the runs and tries, and what the providers hold against the ledger:
``duplicates`` (messages or call tasks beyond one per touchpoint), ``lost`` (a touchpoint the
ledger calls sent that its provider lacks, or one left planned or in doubt). A video goes out by
email (its link counted with the emails) to our own page at the preferences service, which runs
beside the sandbox: registered once per touchpoint whatever the retries (a PUT by its id).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import requests
import sqlalchemy as sa
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests: the cluster, Postgres

import common  # noqa: E402
import dispatch_benchmark  # noqa: E402
from tests import airflow_cluster, pg  # noqa: E402

DAG_ID = "aftercare_dispatch"
SERVICES = ("twilio", "sendgrid", "trustpilot")  # video pages: our own service, not faulted
#: seconds without a line in the scheduler's log after which it counts as hung
HUNG_AFTER = 60
#: seconds at least between two kills of the scheduler (each costs a restart and a reset)
SCHEDULER_KILLS_APART = 60


def _faults(url: str, latency_ms: int, share: float) -> None:
    """Each provider: ``latency_ms`` per call, ``share`` of the calls failing (a third each a
    429, a 500, and a timeout after the provider took the call)."""
    for service in SERVICES:
        requests.put(
            f"{url}/sandbox/{service}/faults",
            json={
                "latency_ms": latency_ms,
                "share_429": share / 3,
                "share_500": share / 3,
                "share_timeout_after_accept": share / 3,
                "hang_seconds": 4,  # past the client's timeout (2 s below)
            },
            timeout=10,
        ).raise_for_status()


def _send_supervisors(cluster: airflow_cluster.Cluster) -> list[psutil.Process]:
    """The LocalExecutor workers running a send task now (each supervises one task runner;
    its title ends with the task instance's id)."""
    running = cluster.api(
        "GET", f"/dags/{DAG_ID}/dagRuns/~/taskInstances", params={"state": "running"}
    )
    sends = {ti["id"] for ti in running["task_instances"] if ti["task_id"].startswith("send_")}
    found = []
    for process in psutil.process_iter(["cmdline"]):
        title = " ".join(process.info["cmdline"] or [])
        if title.startswith("airflow worker -- LocalExecutor:") and title.split()[-1] in sends:
            found.append(process)
    return found


class Chaos(threading.Thread):
    """Every ``every`` seconds, one SIGKILL: a send task's runner, its supervisor, or the
    scheduler (then restarted past the health-check threshold)."""

    def __init__(self, cluster: airflow_cluster.Cluster, every: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.cluster, self.every, self.random = cluster, every, random.Random(seed)  # noqa: S311 - chaos, not secrets
        self.kills: Counter[str] = Counter()
        self.done = threading.Event()
        self.scheduler_killed = 0.0

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.cluster.reap()
            if self.cluster.silent_for("scheduler") > HUNG_AFTER:
                # a LocalExecutor worker killed while it held the executor's queue lock leaves
                # the scheduler waiting on that lock for good: restarted, as ops would
                self.kill_scheduler()
                self.cluster.start("scheduler")
                self.kills["scheduler_hung_restarted"] += 1
                continue
            kind = self.random.choices(["runner", "supervisor", "scheduler"], [5, 3, 2])[0]
            if kind == "scheduler":
                if time.monotonic() - self.scheduler_killed < SCHEDULER_KILLS_APART:
                    continue
                self.kill_scheduler()
                self.kills[kind] += 1
                time.sleep(airflow_cluster.HEALTH_CHECK_THRESHOLD + 3)
                self.cluster.start("scheduler")
                continue
            supervisors = _send_supervisors(self.cluster)
            if not supervisors:
                continue
            supervisor = self.random.choice(supervisors)
            try:
                victim = supervisor if kind == "supervisor" else supervisor.children()[0]
                victim.kill()
            except (psutil.NoSuchProcess, IndexError):
                continue
            self.kills[kind] += 1

    def kill_scheduler(self) -> None:
        self.cluster.kill("scheduler")  # its workers are reaped once idle (the runbook's advice)
        self.scheduler_killed = time.monotonic()


def _ledger(folder: Path) -> list[dict[str, Any]]:
    """The ledger, read between runs (DuckDB: one writer process at a time)."""
    engine = sa.create_engine(f"duckdb:///{folder / 'w.duckdb'}?access_mode=read_only")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("select * from aftercare.touchpoints")).mappings()
            return [dict(row) for row in rows]
    finally:
        engine.dispose()


def _held(url: str, service: str) -> list[dict[str, Any]]:
    return requests.get(f"{url}/sandbox/{service}/received", timeout=60).json()["data"]


def _ats_tasks(url: str) -> Counter[str]:
    """Call tasks per touchpoint (the id is in each task's description)."""
    per: Counter[str] = Counter()
    start = 0
    while page := requests.get(
        f"{url}/sandbox/ats/truth/Task", params={"start": start, "count": 1000}, timeout=60
    ).json()["data"]:
        for task in page:
            if found := re.search(r"aftercare touchpoint: (\S+)", task.get("description") or ""):
                per[found.group(1)] += 1
        start += len(page)
    return per


def audit(url: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    """What the providers hold against the ledger."""
    by_id = {row["touchpoint_id"]: row for row in rows}
    emails = Counter(m["custom_args"]["touchpoint_id"] for m in _held(url, "sendgrid"))
    texts = _held(url, "twilio")
    ledger_sids = {row["provider_message_id"] for row in rows if row["status"] == "sent"}
    tasks = _ats_tasks(url)
    twice = sorted(
        [t for t, n in emails.items() if n > 1]
        + [t for t, n in tasks.items() if n > 1]
        # a text the ledger does not name went out for a touchpoint that has another
        + [f"sms {m['sid']}" for m in texts if m["sid"] not in ledger_sids]
    )
    if twice:
        print(f"  more than once: {twice}")  # ids only
    duplicates = (
        sum(n - 1 for n in emails.values())
        + sum(n - 1 for n in tasks.values())
        + sum(1 for message in texts if message["sid"] not in ledger_sids)
    )
    held_ids = set(emails) | set(tasks) | {m["sid"] for m in texts}
    lost_sent = sum(
        1
        for row in rows
        if row["status"] == "sent"
        and row["touchpoint_id"] not in held_ids
        and row["provider_message_id"] not in held_ids
    )
    unsettled = sum(1 for row in rows if row["status"] == "planned")
    return {
        "touchpoints": len(by_id),
        "sent": sum(1 for row in rows if row["status"] == "sent"),
        "failed": sum(1 for row in rows if row["status"] == "failed"),
        "expired": sum(1 for row in rows if row["status"] == "expired"),
        "duplicates": duplicates,
        "lost": lost_sent + unsettled,
        "in_doubt": sum(1 for row in rows if row["in_doubt"]),
    }


def _stop(*_: object) -> None:
    """SIGTERM: unwind once (a second SIGTERM, say from `timeout`, must not cut the cleanup)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(143)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-channel", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=8)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--fault-share", type=float, default=0.04)
    parser.add_argument("--kill-every", type=float, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=4, help="sends at a time per batch")
    args = parser.parse_args()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # stopped (SIGTERM): unwind, so every process this started is stopped too
    signal.signal(signal.SIGTERM, _stop)
    folder = Path(tempfile.mkdtemp(prefix="aftercare-bench-chaos-"))
    started = time.monotonic()

    with common.sandbox(3 * args.per_channel + 1000, None, **dispatch_benchmark.SANDBOX) as url:
        requests.post(
            f"{url}/sandbox/clock/set",
            params={"at": dispatch_benchmark.NOW.isoformat()},
            timeout=600,
        ).raise_for_status()
        ats_placements = dispatch_benchmark._ats_placements(url, args.per_channel)
        dispatch_benchmark._environment(url, 0, folder)
        config_file = Path(os.environ["AFTERCARE_CONFIG"])
        config = yaml.safe_load(config_file.read_text())
        config["dispatch"]["timeout_seconds"] = 2  # a hung call is a timeout within seconds
        for limit in config["dispatch"]["providers"].values():
            limit["concurrency"] = args.concurrency  # batches that last: kills land inside
        config_file.write_text(yaml.safe_dump(config))
        dispatch_benchmark._seed(args.per_channel, ats_placements)
        _faults(url, args.latency_ms, args.fault_share)
        total = 4 * args.per_channel
        print(f"{total:,} touchpoints due, {args.latency_ms} ms latency, faults {args.fault_share}")

        with (
            common.preferences_service(folder),  # video pages, and the feed dispatch loads
            pg.server() as server,
            server.database() as metadata,
            airflow_cluster.cluster(folder / "airflow", metadata, [DAG_ID]) as cluster,
        ):
            chaos = Chaos(cluster, args.kill_every, args.seed)
            try:
                chaos_until = time.monotonic() + args.minutes * 60
                run_id, runs, tries = cluster.unpause(DAG_ID), 0, Counter()
                chaos.start()
                while True:
                    state = cluster.wait_for_run(DAG_ID, run_id, timeout=1800)
                    runs += 1
                    for ti in cluster.task_instances(DAG_ID, run_id):
                        if ti["task_id"].startswith("send_"):
                            tries[ti["try_number"]] += 1
                    rows = _ledger(folder)
                    planned = sum(1 for row in rows if row["status"] == "planned")
                    # chaos while there is sending to disturb, for at most --minutes
                    if (time.monotonic() > chaos_until or planned == 0) and not chaos.done.is_set():
                        chaos.done.set()
                        chaos.join()
                    print(
                        f"  run {runs} ({state}) at {time.monotonic() - started:.0f} s: "
                        f"{planned} still planned, kills so far {dict(chaos.kills)}",
                        flush=True,
                    )
                    if chaos.done.is_set() and planned == 0:
                        break
                    run = cluster.api(
                        "POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None}
                    )
                    run_id = run["dag_run_id"]
            finally:  # no kill or restart while the cluster stops
                chaos.done.set()
                if chaos.is_alive():
                    chaos.join(timeout=60)
        figures = audit(url, rows)

    print(f"\nafter {time.monotonic() - started:.0f} s, {runs} dispatch runs")
    print(f"  kills: {dict(chaos.kills)}")
    print(f"  send task instances by final try number: {dict(sorted(tries.items()))}")
    for name, value in figures.items():
        print(f"  {name}: {value:,}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
