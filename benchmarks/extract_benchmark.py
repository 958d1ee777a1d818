"""Extract throughput and memory at volume (a benchmark, not a test).

    .venv/bin/python benchmarks/extract_benchmark.py [--placements 1000000] [--rounds 1]

Starts the sandbox ATS in its own process with N placements, then measures, each phase in a
fresh process of its own so that peak memory is that phase's alone:

* baseline: the same pages fetched through the client, parsed, and thrown away;
* extract: the full pull into a fresh DuckDB warehouse (raw pages, normalised changes,
  watermark, page by page). The quality gate and the staging upsert that follow it are timed by
  validate_benchmark.py.

Prints rows per second, peak RSS, and the ratio extract / baseline measured in this run
(targets: ratio >= 0.8, peak RSS under 600 MB). Machines are noisy: compare ratios, not seconds.
On a machine with two cores or more, the sandbox (standing in for the remote ATS) runs on CPU 0
and the measured phases on CPU 1, so the server's own work does not blur the comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: DuckDB settings of the benchmark's warehouse connection (the extras of aftercare_warehouse):
#: one thread, because the sandbox shares this 2-core machine (in production the ATS is remote);
#: a memory limit, because DuckDB's buffer pool otherwise grows towards 80% of RAM; fewer
#: checkpoints (every 512 MB of WAL instead of 16 MB) on a bulk load; no insertion order kept
#: (nothing reads raw tables in insertion order: pages and ids say where a row came from).
SANDBOX_CPUS, PHASE_CPUS = {0}, {1}
DUCKDB_SETTINGS = json.loads(
    os.environ.get(
        "BENCH_DUCKDB_SETTINGS",
        '{"threads": 1, "memory_limit": "300MB", "checkpoint_threshold": "512MB", '
        '"preserve_insertion_order": false}',
    )
)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _client(url: str):  # noqa: ANN202 - BullhornAts, imported late
    from aftercare.ats.bullhorn import BullhornAts, BullhornCredentials
    from aftercare.config import load_config
    from aftercare.sandbox.ats.settings import AtsSandboxSettings

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


def phase_baseline(url: str) -> dict[str, float]:
    from aftercare.ats.base import ORIGIN

    started = time.perf_counter()
    rows = sum(len(page.records) for page in _client(url).changes("Placement", ORIGIN))
    return {"rows": rows, "seconds": time.perf_counter() - started}


def phase_extract(url: str) -> dict[str, float]:
    from airflow.sdk import Connection

    from aftercare import extract, warehouse
    from aftercare.config import load_config

    path = Path(tempfile.mkdtemp(prefix="aftercare-bench-")) / "warehouse.duckdb"
    extra = json.dumps(DUCKDB_SETTINGS)
    engine = warehouse.engine_for(
        Connection(conn_id="bench", conn_type="duckdb", host=str(path), extra=extra)
    )
    warehouse.migrate(engine)
    started = time.perf_counter()
    counts = extract.pull(
        engine, _client(url), load_config(), "Placement", full=True, run_id="benchmark"
    )
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"rows": counts["placements_pulled"], "seconds": seconds}


def _pin(cpus: set[int]) -> None:
    """Keep this process on ``cpus`` (the sandbox stands in for a remote ATS: it gets a core of
    its own, so both phases compete for the same, other core rather than with the server)."""
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, cpus)


def _run_phase(name: str, url: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--url", url],
        capture_output=True,
        text=True,
        preexec_fn=lambda: _pin(PHASE_CPUS),
    )
    if result.returncode:
        sys.exit(f"phase {name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--placements", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1, help="baseline/extract pairs to run")
    parser.add_argument("--phase", choices=["baseline", "extract"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

    if args.phase:
        result = (phase_baseline if args.phase == "baseline" else phase_extract)(args.url)
        print(json.dumps({**result, "peak_rss_mb": _peak_rss_mb()}))
        return

    from aftercare.sandbox import SandboxSettings
    from aftercare.sandbox.ats.settings import AtsSandboxSettings
    from aftercare.sandbox.server import start_process

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = SandboxSettings(
        ats=AtsSandboxSettings(placements=args.placements, rate_limit_per_minute=10_000_000)
    )
    print(f"sandbox: generating {args.placements:,} placements ...", flush=True)
    started = time.perf_counter()
    sandbox = start_process(port, settings)
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(sandbox.pid, SANDBOX_CPUS)
    print(f"sandbox: ready in {time.perf_counter() - started:.1f} s", flush=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for round_number in range(1, args.rounds + 1):
            base = _run_phase("baseline", url)
            ours = _run_phase("extract", url)
            base_rate = base["rows"] / base["seconds"]
            ours_rate = ours["rows"] / ours["seconds"]
            print(f"\nround {round_number}: {base['rows']:,} placements")
            print(f"  {'phase':<30} {'rows/s':>10} {'seconds':>9} {'peak RSS MB':>12}")
            print(
                f"  {'baseline (fetch + parse)':<30} {base_rate:>10,.0f} "
                f"{base['seconds']:>9.1f} {base['peak_rss_mb']:>12.0f}"
            )
            print(
                f"  {'extract (pull into raw)':<30} {ours_rate:>10,.0f} "
                f"{ours['seconds']:>9.1f} {ours['peak_rss_mb']:>12.0f}"
            )
            print(f"  ratio extract / baseline: {ours_rate / base_rate:.2f} (target >= 0.8)")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)


if __name__ == "__main__":
    main()
