"""Planning speed at volume (a benchmark, not a test).

    .venv/bin/python benchmarks/plan_benchmark.py [--placements 1000000] [--rounds 3]

Fills a fresh DuckDB warehouse with N synthetic placements and 0.8 N candidates
(``sql/benchmarks/synthetic_staging.sql``: starts over three years around the plan day, temps
with end dates, consents, birthdays, time zones), then times, in the same run:

* baseline: one plain scan of staging.placements joined to staging.candidates
  (``sql/benchmarks/scan_join.sql``);
* plan: ``aftercare.plan.plan`` for one day on an empty ledger (every milestone decided and
  written), and again the next day (the ledger now holds a day of decisions); each with its
  phases: propose (sql/cohorts/propose.sql), apply (apply_plan.sql), the rest of the run's
  statements, and the commit (DuckDB writes the WAL, and checkpoints when it is large).

Targets: plan under 10 s, and under 5x the scan. Machines are noisy: compare ratios.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import common

#: DuckDB settings of the benchmark's warehouse (the extras of aftercare_warehouse): both
#: cores, no sandbox runs beside it
DUCKDB_SETTINGS = {"threads": 2, "memory_limit": "2GB"}


#: the sql files of a plan run timed as phases of their own (the others count as "other")
PHASES = {"cohorts/propose.sql": "propose", "cohorts/apply_plan.sql": "apply"}


@contextmanager
def phase_timer() -> Iterator[Counter[str]]:
    """Seconds spent in each phase of the plan runs inside (propose, apply, other statements),
    by timing the sql files the plan stage runs through `warehouse`."""
    from aftercare import warehouse

    spent: Counter[str] = Counter()
    originals = warehouse.execute_file, warehouse.query_file

    def timed(run):  # noqa: ANN001, ANN202
        def wrapper(conn, name, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            started = time.perf_counter()
            try:
                return run(conn, name, *args, **kwargs)
            finally:
                spent[PHASES.get(name, "other")] += time.perf_counter() - started

        return wrapper

    warehouse.execute_file, warehouse.query_file = (timed(run) for run in originals)
    try:
        yield spent
    finally:
        warehouse.execute_file, warehouse.query_file = originals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--placements", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from aftercare import plan, warehouse
    from aftercare.config import load_config

    config = load_config()
    day = date(2026, 11, 30)
    path = Path(tempfile.mkdtemp(prefix="aftercare-plan-bench-")) / "warehouse.duckdb"
    engine = common.engine(str(path), DUCKDB_SETTINGS)
    warehouse.migrate(engine)
    started = time.perf_counter()
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn,
            "benchmarks/synthetic_staging.sql",
            {"placements": args.placements, "plan_date": day.isoformat()},
        )
    print(
        f"staged {args.placements:,} synthetic placements in {time.perf_counter() - started:.1f} s"
    )

    for round_number in range(1, args.rounds + 1):
        started = time.perf_counter()
        with warehouse.transaction(engine) as conn:
            warehouse.query_file(conn, "benchmarks/scan_join.sql")
        scan = time.perf_counter() - started
        # every round plans on an empty ledger, as if no day had been planned yet
        with warehouse.transaction(engine) as conn:
            conn.exec_driver_sql("delete from aftercare.touchpoints")
            conn.exec_driver_sql("delete from aftercare.plan_runs")
        with engine.connect() as conn:  # and no round's commit checkpoints the last one's rows
            conn.exec_driver_sql("checkpoint")
        timings = []
        phases = []
        for offset in range(2):
            with phase_timer() as spent:
                started = time.perf_counter()
                counts = plan.plan(engine, config, day + timedelta(days=offset))
                timings.append(time.perf_counter() - started)
            spent["commit"] = timings[-1] - sum(spent.values())
            phases.append(spent)
        decided = sum(counts.values())
        print(f"\nround {round_number}: {args.placements:,} placements")
        print(f"  baseline scan + join          {scan:>7.2f} s")
        for label, seconds, spent in zip(
            ("plan, empty ledger", "plan the next day"), timings, phases, strict=True
        ):
            print(f"  {label:<28} {seconds:>7.2f} s   x{seconds / scan:.1f} the scan")
            print(
                "    "
                + ", ".join(
                    f"{name} {spent[name]:.2f}" for name in ("propose", "apply", "other", "commit")
                )
            )
        print(f"  decisions the next day: {decided:,}  (targets: < 10 s and < 5x the scan)")
    engine.dispose()


if __name__ == "__main__":
    main()
