"""What publishing the DuckDB snapshot costs a warehouse task (a benchmark, not a test).

    .venv/bin/python benchmarks/snapshot_benchmark.py [--placements 1000000] [--history]

Every warehouse task that finishes publishes a snapshot of the DuckDB warehouse for readers (the
ops console): a checkpoint, a copy of the file, a rename (`aftercare.warehouse.publish_snapshot`).
Fills a fresh warehouse as the plan benchmark does (N synthetic placements; with ``--history``
also three years of the book's touchpoints in the ledger, about 8 rows per placement), plans a
day and the next night (the nightly's heaviest task, `plan_benchmark.timed_plan`), then times
the publication after the next night, as that task would publish it (its checkpoint included),
against that night's plan, with the file's size; then twice more (the copy alone).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import common
import plan_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--placements", type=int, default=1_000_000)
    parser.add_argument("--history", action="store_true", help="three years of ledger history")
    args = parser.parse_args()

    from aftercare import plan, warehouse
    from aftercare.config import load_config

    config = load_config()
    day = date(2026, 11, 30)
    path = Path(tempfile.mkdtemp(prefix="aftercare-snapshot-bench-")) / "warehouse.duckdb"
    engine = common.engine(str(path), plan_benchmark.DUCKDB_SETTINGS)
    warehouse.migrate(engine)
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn,
            "benchmarks/synthetic_staging.sql",
            {"placements": args.placements, "plan_date": day.isoformat()},
        )
        if args.history:
            warehouse.execute_file(
                conn,
                "benchmarks/ledger_history.sql",
                {"milestones": plan._params(config, day)["milestones"], "plan_date": day},
            )
    plan_benchmark.checkpoint(engine)
    plan_benchmark.timed_plan(engine, config, day, everything=False)
    plan_benchmark.day_passes(engine, day + timedelta(days=1), 0.01, salt=1)
    night, _, _ = plan_benchmark.timed_plan(engine, config, day + timedelta(days=1), False)

    times = []
    for _ in range(3):
        started = time.perf_counter()
        snapshot = warehouse.publish_snapshot(engine)
        times.append(time.perf_counter() - started)
    engine.dispose()
    publish, copy = times[0], statistics.median(times[1:])
    with engine.connect() as conn:
        ledger = conn.exec_driver_sql("select count(*) from aftercare.touchpoints").scalar()
    engine.dispose()
    size = snapshot.stat().st_size / 2**20
    print(f"{args.placements:,} placements, {ledger:,} ledger rows, warehouse file {size:,.0f} MB")
    print(f"  the next night's plan        {night:>7.2f} s")
    print(f"  publishing the snapshot      {publish:>7.2f} s   x{publish / night:.2f} the plan")
    print(f"  the copy alone (median of 2) {copy:>7.2f} s   ({size / copy:,.0f} MB/s)")


if __name__ == "__main__":
    main()
