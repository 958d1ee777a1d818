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

import os
import tempfile
import time
from pathlib import Path

import common

#: The sandbox (standing in for the remote ATS) on one core, the measured phases on the other.
SANDBOX_CPUS, PHASE_CPUS = {0}, {1}


def phase_baseline(url: str) -> dict[str, float]:
    from aftercare.ats.base import ORIGIN

    started = time.perf_counter()
    rows = sum(len(page.records) for page in common.client(url).changes("Placement", ORIGIN))
    return {"rows": rows, "seconds": time.perf_counter() - started}


def phase_extract(url: str) -> dict[str, float]:
    from aftercare import extract, warehouse
    from aftercare.config import load_config

    engine = common.engine(str(Path(tempfile.mkdtemp(prefix="aftercare-bench-")) / "w.duckdb"))
    warehouse.migrate(engine)
    started = time.perf_counter()
    counts = extract.pull(
        engine, common.client(url), load_config(), "Placement", full=True, run_id="benchmark"
    )
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"rows": counts["placements_pulled"], "seconds": seconds}


PHASES = {"baseline": phase_baseline, "extract": phase_extract}


def _pin() -> None:
    """Keep a phase on PHASE_CPUS (the sandbox stands in for a remote ATS: it gets a core of
    its own, so both phases compete for the same, other core rather than with the server)."""
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, PHASE_CPUS)


def main() -> None:
    args = common.arguments(__doc__, PHASES, "baseline/extract")
    if args is None:
        return

    with common.sandbox(args.placements, SANDBOX_CPUS) as url:
        for round_number in range(1, args.rounds + 1):
            base = common.run_phase(__file__, "baseline", url, preexec=_pin)
            ours = common.run_phase(__file__, "extract", url, preexec=_pin)
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


if __name__ == "__main__":
    main()
