"""Dispatch through the Celery cluster: one worker against two (a benchmark, not a test).

    .venv/bin/python benchmarks/cluster_dispatch_benchmark.py [--touchpoints 8000]
                                                             [--latency-ms 100] [--concurrency N]

For each of three set-ups, a fresh sandbox (every provider answering after ``--latency-ms``), a
fresh Postgres warehouse holding the same N planned touchpoints due now (a quarter on each
channel, as `dispatch_benchmark.py` seeds them) and a fresh Airflow on a Postgres metadata
database (`sandbox.cluster`, the launcher of `make cluster`); one dispatch run triggered through
the scheduler and awaited:

* ``single``: the single-machine run, the LocalExecutor (tasks run beside the scheduler);
* ``celery x1``: the CeleryExecutor with one worker (Redis broker);
* ``celery x2``: the same with two workers (as on two hosts).

``--concurrency N``: each send task keeps at most N requests in flight per provider (the
config's ``dispatch.providers.<p>.concurrency``, 32 for most, by default). On one machine every
worker shares the same cores, and with 32 in flight per task the sends are bound by the CPU
(the tasks' and the sandbox's), which a second worker on the same cores does not add to; with a
few in flight they are bound by the providers' latency, as a worker on a host of its own is,
and what a second worker adds shows.

Prints, per set-up, the messages sent, the send tasks' span (first send task's start to last
one's end) and messages per second over it, the mapped send task instances, and the machine's
load average (1 minute) when the run ended. Targets: two
workers send at least 1.7 times what one does; the cluster maps no more send tasks than the
single-machine run. Machines are noisy (on a 2-core machine, Airflow's own processes compete
with the workers): compare within a run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import common
import dispatch_benchmark as local
import requests
import sqlalchemy as sa
import yaml

from aftercare import PROJECT_ROOT
from sandbox.cluster import WORKERS, celery_cluster, running
from sandbox.postgres import server

common.use_benchmark_sql()

DAG_ID = "aftercare_dispatch"
AIRFLOW = ("api-server", "dag-processor", "scheduler")
SETUPS = {
    "single": None,
    "celery x1": (*AIRFLOW, WORKERS[0]),
    "celery x2": (*AIRFLOW, *WORKERS),
}
#: the scheduler's own schedules stay out of the way: the run measured is the one triggered
SETTINGS = {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}


def _span(tasks: list[dict[str, Any]]) -> float:
    starts = [datetime.fromisoformat(t["start_date"]) for t in tasks]
    ends = [datetime.fromisoformat(t["end_date"]) for t in tasks]
    return (max(ends) - min(starts)).total_seconds()


def _sent(warehouse_uri: str) -> int:
    engine = sa.create_engine(warehouse_uri)
    with engine.connect() as conn:
        sent = conn.execute(
            sa.text("select count(*) from aftercare.touchpoints where status = 'sent'")
        ).scalar_one()
    engine.dispose()
    return int(sent)


def _limit_concurrency(concurrency: int | None) -> None:
    """At most ``concurrency`` requests in flight per provider in each send task (None: the
    config's)."""
    if concurrency is None:
        return
    path = Path(os.environ["AFTERCARE_CONFIG"])
    config = yaml.safe_load(path.read_text())
    for limit in config["dispatch"]["providers"].values():
        limit["concurrency"] = concurrency
    path.write_text(yaml.safe_dump(config))


def _setup(
    name: str,
    processes: tuple[str, ...] | None,
    per_channel: int,
    latency: int,
    concurrency: int | None,
) -> dict:
    """One dispatch run of N touchpoints through set-up ``name``; its figures."""
    folder = Path(tempfile.mkdtemp(prefix="aftercare-bench-cluster-"))
    with (
        common.sandbox(3 * per_channel + 1000, None, **local.SANDBOX) as url,
        server() as postgres,
        postgres.database() as metadata,
        postgres.database() as warehouse_uri,
    ):
        requests.post(f"{url}/sandbox/clock/set", params={"at": local.NOW.isoformat()}, timeout=600)
        local._environment(url, 0, folder)
        _limit_concurrency(concurrency)
        os.environ["AIRFLOW_CONN_AFTERCARE_WAREHOUSE"] = warehouse_uri
        local._seed(per_channel, local._ats_placements(url, per_channel))
        local._faults(url, latency)
        home = folder / "airflow"
        cluster = (
            running(home, metadata, PROJECT_ROOT / "dags", AIRFLOW, settings=SETTINGS)
            if processes is None
            else celery_cluster(home, metadata, SETTINGS, processes)
        )
        # the video channel registers each touchpoint's page at the preferences service
        with common.preferences_service(folder), cluster as airflow:
            started = time.monotonic()
            run_id = airflow.trigger(DAG_ID, local.NOW, {})
            state = airflow.wait_for_run(DAG_ID, run_id, timeout=3600)
            took = time.monotonic() - started
            tasks = airflow.task_instances(DAG_ID, run_id)
            load = os.getloadavg()[0]
        if state != "success":
            raise SystemExit(f"{name}: the dispatch run ended {state}; logs: {home}")
        sends = [t for t in tasks if t["task_id"].startswith("send_")]
        return {
            "sent": _sent(warehouse_uri),
            "span": _span(sends),
            "run": took,
            "mapped": len(sends),
            "load": load,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touchpoints", type=int, default=8000)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument(
        "--concurrency", type=int, help="requests in flight per provider and send task"
    )
    args = parser.parse_args()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    figures = {}
    for name, processes in SETUPS.items():
        in_flight = args.concurrency or "the config's"
        print(
            f"{name}: {args.touchpoints:,} touchpoints at {args.latency_ms} ms,"
            f" {in_flight} requests in flight per provider and task ...",
            flush=True,
        )
        figures[name] = _setup(
            name, processes, args.touchpoints // 4, args.latency_ms, args.concurrency
        )
    print(
        f"\n{'set-up':<10} {'sent':>6} {'send span s':>12} {'msg/s':>7} {'run s':>6} {'mapped':>7}"
        f" {'load':>5}"
    )
    for name, f in figures.items():
        rate = f["sent"] / f["span"]
        print(
            f"{name:<10} {f['sent']:>6} {f['span']:>12.1f} {rate:>7.0f} {f['run']:>6.1f}"
            f" {f['mapped']:>7} {f['load']:>5.1f}"
        )
    one, two = (figures[n]["sent"] / figures[n]["span"] for n in ("celery x1", "celery x2"))
    print(f"\ntwo workers / one: {two / one:.2f}x (target >= 1.7)")
    mapped = figures["celery x2"]["mapped"], figures["single"]["mapped"]
    print(f"mapped send tasks: cluster {mapped[0]}, single machine {mapped[1]} (target: <=)")


if __name__ == "__main__":
    main()
