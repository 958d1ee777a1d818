"""Dispatch throughput and memory at volume (a benchmark, not a test).

    .venv/bin/python benchmarks/dispatch_benchmark.py [--touchpoints 100000] [--latency-ms 0 100]

Starts the sandbox (ATS and providers) in its own process, fills a fresh DuckDB warehouse with
N planned touchpoints due now, a quarter on each channel (email, sms, video by email, recruiter
call task), and for each provider latency given:

* prepare: folds, batches (the batch files and the number of mapped send tasks the DAG would
  create: one per batch);
* per channel, the channel's batches through a pool of worker processes as wide as the channel's
  Airflow pool (the mapped send tasks running side by side), timed from the first send to the
  last: ``dispatch``; and, in the same run, ``baseline``: the same provider calls made by the
  same clients with the same threads, without journal, templates or links (what the providers
  alone allow on this machine);
* record: the journals folded into the ledger.

Prints messages per second per channel for both, their ratio, the task instances, and peak
memory. Targets: at least 500 messages/s per channel with an instant provider,
at least 200/s with 100 ms latency, at most 250 mapped task instances. Machines are noisy:
compare within a run.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import common
import requests
import yaml

from aftercare.config import load_config
from aftercare.names import CHANNELS

common.use_benchmark_sql()

SEND_AT = datetime(2026, 11, 23, 10, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
#: the sandbox's services, fast and clean: no seeded opt-outs, no rate limits in the way
SANDBOX = {
    "twilio": {"opted_out_share": 0.0},
    "sendgrid": {"rate_limit_per_second": 1_000_000},
}


def _config(folder: Path) -> Path:
    """The shipped config with the providers' rates out of the way (the sandbox is the limit)."""
    from aftercare import DEFAULT_CONFIG

    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config["dispatch"]["staging_root"] = str(folder / "staging")
    for limit in config["dispatch"]["providers"].values():
        limit["messages_per_second"] = 1_000_000
    config["ats"]["rate_limit_per_minute"] = 100_000_000
    config["quality"]["gx_project_dir"] = str(folder / "gx")
    path = folder / "aftercare.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _environment(url: str, smtp_port: int, folder: Path) -> None:
    from sandbox.bootstrap import local_connections

    for conn_id, connection in local_connections(url, smtp_port=smtp_port).items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)
    os.environ["AIRFLOW_CONN_AFTERCARE_WAREHOUSE"] = json.dumps(
        {"conn_type": "duckdb", "host": str(folder / "w.duckdb"), "extra": common.DUCKDB_SETTINGS}
    )
    os.environ["AFTERCARE_CONFIG"] = str(_config(folder))


def _ats_placements(url: str, count: int) -> list[dict[str, int]]:
    """Placements of the sandbox ATS with a candidate and an owner, one per candidate, for the
    call tasks."""
    found: list[dict[str, int]] = []
    seen: set[int] = set()  # candidates taken
    candidates: set[int] = set()  # candidates the ATS holds (it refuses tasks for others)
    start = 0
    while True:
        page = requests.get(
            f"{url}/sandbox/ats/truth/Candidate", params={"start": start, "count": 1000}, timeout=60
        ).json()["data"]
        if not page:
            break
        candidates.update(c["id"] for c in page)
        start += len(page)
    start = 0
    while len(found) < count:
        page = requests.get(
            f"{url}/sandbox/ats/truth/Placement", params={"start": start, "count": 1000}, timeout=60
        ).json()["data"]
        if not page:
            raise SystemExit(f"the sandbox ATS holds fewer than {count} usable placements")
        found += [
            {
                "placement_id": p["id"],
                "candidate_id": p["candidate"]["id"],
                "owner_id": p["owner"]["id"],
            }
            for p in page
            if (p.get("candidate") or {}).get("id")
            and (p.get("owner") or {}).get("id")
            and p["candidate"]["id"] in candidates
            and not (p["candidate"]["id"] in seen or seen.add(p["candidate"]["id"]))
        ]
        start += len(page)
    return found[:count]


def _seed(per_channel: int, ats_placements: list[dict[str, int]]) -> None:
    from aftercare import connections, warehouse

    engine = connections.warehouse_engine()
    warehouse.migrate(engine)
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn,
            "benchmarks/dispatch_ledger.sql",
            {
                "per_channel": per_channel,
                "send_at": SEND_AT.isoformat(),
                "ats_placements": json.dumps(ats_placements),
            },
        )
    engine.dispose()


def _timed(function: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def _prepare() -> tuple[dict[str, list[dict[str, Any]]], float]:
    from aftercare import connections
    from aftercare.connections import staging_path
    from aftercare.dispatch import batches

    engine = connections.warehouse_engine()
    (prepared, _), seconds = _timed(
        lambda: batches.prepare(
            engine, load_config(), NOW, staging_path, run_id="bench", try_number=1, dry_run=False
        )
    )
    engine.dispose()
    return prepared, seconds


def _fold() -> tuple[dict[str, int], float]:
    from aftercare import connections
    from aftercare.connections import staging_path
    from aftercare.dispatch import batches

    engine = connections.warehouse_engine()
    counts, seconds = _timed(batches.fold, engine, load_config(), staging_path)
    engine.dispose()
    return dict(counts), seconds


def _peak_mb() -> float:
    """This process's peak resident memory since it started its program (VmHWM; ru_maxrss
    would also count the parent's memory at the fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return common.peak_rss_mb()


def send_task(batch: dict[str, Any]) -> tuple[int, float]:
    """One mapped send task (in a worker process): touchpoints done, peak memory."""
    from aftercare.tasks import dispatch

    return sum(dispatch.send_batch(**batch).values()), _peak_mb()


def baseline_task(batch: dict[str, Any]) -> tuple[int, float]:
    """The same provider calls as the batch's send task, by the same clients and threads, with
    nothing of ours around them: no journal, no templates, no links, no look-ups."""
    from aftercare.ats.base import RecruiterTask
    from aftercare.connections import get_connection, staging_path
    from aftercare.dispatch import journal
    from aftercare.providers.base import Email, VideoPage
    from aftercare.providers.factory import Providers

    config = load_config()
    providers = Providers(config, batch["channel"], get_connection)
    items = journal.read_batch(staging_path(batch["path"]))
    clients = {"ats" if item.route == "phone" else item.route for item in items}
    providers.open(clients | ({"video"} if batch["channel"] == "video" else set()))
    videos = config.dispatch.videos

    def email(item: journal.BatchItem) -> None:
        providers.email.send(
            Email(item.touchpoint_id, item.email, "C", "Hello", "text", "<p>html</p>", "m")
        )

    def call(item: journal.BatchItem) -> None:
        if batch["channel"] == "email":
            email(item)
        elif batch["channel"] == "sms":
            providers.sms.send(item.mobile, "Hello from the benchmark")
        elif batch["channel"] == "video":
            video = videos[item.milestone]
            page = VideoPage(item.touchpoint_id, int(item.candidate_id), item.milestone, "C",
                             "Job", "Client", "R", video.recording, video.kind, video.poster,
                             None, None)  # fmt: skip
            providers.video.publish(page)  # our own page, at the preferences service
            email(item)
        else:
            due = datetime.fromisoformat(item.send_at)
            providers.ats.create_task(
                RecruiterTask(
                    "Call",
                    item.touchpoint_id,
                    int(item.candidate_id),
                    int(item.owner_id),
                    due,
                    int(item.placement_id),
                )
            )

    with ThreadPoolExecutor(providers.concurrency) as pool:
        list(pool.map(call, items))
    return len(items), _peak_mb()


def _run_channel(task: Any, batches: list[dict[str, Any]], slots: int) -> tuple[int, float, float]:
    """The channel's batches over ``slots`` worker processes; returns messages, seconds and
    the largest peak memory of a worker (MB)."""
    with ProcessPoolExecutor(slots, mp_context=get_context("spawn")) as pool:
        list(pool.map(len, [[]] * slots))  # the workers are up before the clock starts
        started = time.perf_counter()
        results = list(pool.map(task, batches))
        seconds = time.perf_counter() - started
    return sum(n for n, _ in results), seconds, max(mb for _, mb in results)


def _faults(url: str, latency_ms: int) -> None:
    """Every provider answers after ``latency_ms`` (the ATS: every call is "slow" by as much)."""
    for service in ("twilio", "sendgrid", "trustpilot"):  # video pages: our own service
        requests.put(f"{url}/sandbox/{service}/faults", json={"latency_ms": latency_ms}, timeout=10)
    slow = {"share_slow": 1.0 if latency_ms else 0.0, "slow_seconds": latency_ms / 1000}
    requests.put(f"{url}/sandbox/ats/faults", json=slow, timeout=10).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touchpoints", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 100])
    parser.add_argument("--channels", nargs="+", choices=CHANNELS, default=list(CHANNELS))
    args = parser.parse_args()
    per_channel = args.touchpoints // 4
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

    with common.sandbox(3 * per_channel + 1000, None, **SANDBOX) as url:
        requests.post(f"{url}/sandbox/clock/set", params={"at": NOW.isoformat()}, timeout=600)
        ats_placements = _ats_placements(url, per_channel)
        smtp_port = 0  # SendGrid is the email transport here; SMTP is not used
        for latency in args.latency_ms:
            folder = Path(tempfile.mkdtemp(prefix="aftercare-bench-dispatch-"))
            _environment(url, smtp_port, folder)
            with common.preferences_service(folder):  # the video channel's own pages
                _seed(per_channel, ats_placements)
                _faults(url, latency)
                prepared, prepare_seconds = _prepare()
                config = load_config()  # _environment's file, as the service copied it
                mapped = sum(len(prepared[c]) for c in CHANNELS)
                print(f"\nprovider latency {latency} ms: {args.touchpoints:,} touchpoints")
                print(
                    f"  prepare: {prepare_seconds:.1f} s, {mapped} batches"
                    " = mapped send task instances (target <= 250)"
                )
                print(
                    f"  {'channel':<8} {'slots':>5} {'baseline msg/s':>15} {'dispatch msg/s':>15}"
                    f" {'ratio':>6}"
                )
                worker_mb = 0.0
                for channel in args.channels:
                    slots = config.airflow.pools[f"aftercare_send_{channel}"].slots
                    # the baseline first, against the same sandbox state, then ours
                    base_n, base_s, _ = _run_channel(baseline_task, prepared[channel], slots)
                    ours_n, ours_s, mb = _run_channel(send_task, prepared[channel], slots)
                    worker_mb = max(worker_mb, mb)
                    print(
                        f"  {channel:<8} {slots:>5} {base_n / base_s:>15,.0f}"
                        f" {ours_n / ours_s:>15,.0f} {(ours_n / ours_s) / (base_n / base_s):>6.2f}"
                    )
                counts, fold_seconds = _fold()
                print(
                    f"  record: {fold_seconds:.1f} s for {sum(counts.values()):,} outcomes {counts}"
                )
                print(
                    f"  peak memory: a send task {worker_mb:.0f} MB;"
                    f" prepare, record and this script together {_peak_mb():.0f} MB"
                )


if __name__ == "__main__":
    main()
