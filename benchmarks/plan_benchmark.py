"""Planning speed at volume (a benchmark, not a test).

    .venv/bin/python benchmarks/plan_benchmark.py [--placements 1000000] [--rounds 3]
        [--changed-share 0.01] [--history] [--everything]

Fills a fresh DuckDB warehouse with N synthetic placements and 0.8 N candidates
(``benchmarks/sql/synthetic_staging.sql``: starts over three years around the plan day, temps
with end dates, consents, birthdays, time zones), then times, in the same run:

* baseline: a plain scan of staging.placements joined to staging.candidates
  (``benchmarks/sql/scan_join.sql``), the median of three;
* plan: ``aftercare.plan.plan`` for one day on an empty ledger (the first run: every subject
  in reach decided, and written with the look-back's expired rows), then the next night after
  a day (``benchmarks/sql/day_passes.sql``: dispatch sent what was planned, and the extract
  staged again a share of the placements and candidates, 1% by default); and, from an empty
  ledger again, the next night after a day in which nothing went out and nothing changed (every
  planned row decided and written again: dispatch down for a day). With ``--history``, also
  the first and the next night over a ledger holding three years of the book's touchpoints
  (``benchmarks/sql/ledger_history.sql``). Each plan run and each baseline opens the warehouse
  afresh, as a nightly task does. With ``--everything``, every night decides everything in
  reach (as the first run and a full refresh do). Each run is split into its phases:
  propose (the stages of sql/cohorts/propose/), apply (apply_plan.sql), the rest of the run's
  statements, and the commit (DuckDB writes the WAL, and checkpoints when it is large).

Targets: plan under 10 s, and under 5x the scan. Machines are noisy: compare ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import common

common.use_benchmark_sql()

#: DuckDB settings of the benchmark's warehouse (the extras of aftercare_warehouse): both
#: cores, no sandbox runs beside it
DUCKDB_SETTINGS = {"threads": 2, "memory_limit": "2GB"}


@contextmanager
def phase_timer() -> Iterator[Counter[str]]:
    """Seconds spent in each phase of the plan runs inside (propose, apply, other statements),
    by timing the sql files the plan stage runs through `warehouse`."""
    from aftercare import plan, warehouse

    # the sql files timed as phases of their own (the others count as "other")
    phases = {**dict.fromkeys(plan.PROPOSE, "propose"), "cohorts/apply_plan.sql": "apply"}
    spent: Counter[str] = Counter()
    originals = warehouse.execute_file, warehouse.query_file

    def timed(run):  # noqa: ANN001, ANN202
        def wrapper(conn, name, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            started = time.perf_counter()
            try:
                return run(conn, name, *args, **kwargs)
            finally:
                spent[phases.get(name, "other")] += time.perf_counter() - started

        return wrapper

    warehouse.execute_file, warehouse.query_file = (timed(run) for run in originals)
    try:
        yield spent
    finally:
        warehouse.execute_file, warehouse.query_file = originals


def timed_plan(
    engine,  # noqa: ANN001
    config,  # noqa: ANN001
    day: date,
    everything: bool,
) -> tuple[float, Counter[str], dict[str, int]]:
    """One plan run, on a warehouse opened afresh as a nightly task opens it: its seconds, its
    phases' seconds and its decisions."""
    from aftercare import plan

    engine.dispose()
    with phase_timer() as spent:
        started = time.perf_counter()
        counts = plan.plan(engine, config, day, everything=everything)
        seconds = time.perf_counter() - started
    spent["commit"] = seconds - sum(spent.values())
    return seconds, spent, counts


def timed_scan(engine) -> float:  # noqa: ANN001
    """The baseline's seconds, on a warehouse opened afresh (as each plan run's): the median of
    three, the baseline being short enough for a hiccup of the machine to double it."""
    from aftercare import warehouse

    times = []
    for _ in range(3):
        engine.dispose()
        started = time.perf_counter()
        with warehouse.transaction(engine) as conn:
            warehouse.query_file(conn, "benchmarks/scan_join.sql")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fresh_ledger(engine) -> None:  # noqa: ANN001
    """An empty ledger, as if no day had been planned yet, checkpointed (so that no run's
    commit writes out the rows deleted before it)."""
    from aftercare import warehouse

    with warehouse.transaction(engine) as conn:
        conn.exec_driver_sql("delete from aftercare.touchpoints")
        conn.exec_driver_sql("delete from aftercare.plan_runs")
    checkpoint(engine)


def day_passes(engine, next_day: date, changed_share: float, salt: int) -> None:  # noqa: ANN001
    """The day before the night of ``next_day``: its sends, and its changes staged."""
    from aftercare import warehouse

    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn,
            "benchmarks/day_passes.sql",
            {
                # the nightly run is at 02:00: everything planned for the day went out
                "until": f"{next_day.isoformat()}T02:00:00+00:00",
                "changed_share": changed_share,
                "salt": salt,
            },
        )
    checkpoint(engine)


def report(label: str, scan: float, timed: tuple[float, Counter[str], dict[str, int]]) -> None:
    seconds, spent, counts = timed
    print(f"  {label:<29}{seconds:>7.2f} s   x{seconds / scan:.1f} the scan")
    print(
        "    "
        + ", ".join(f"{name} {spent[name]:.2f}" for name in ("propose", "apply", "other", "commit"))
        + f"; {sum(counts.values()):,} decisions"
    )


def checkpoint(engine) -> None:  # noqa: ANN001
    """Settle what the last step wrote before a timed run: DuckDB folds its write-ahead log into
    the file; Postgres gathers statistics, as autovacuum does after a large change."""
    with engine.connect() as conn:
        conn.exec_driver_sql("checkpoint" if engine.dialect.name == "duckdb" else "analyze")
        conn.commit()


def synthetic_book(path: Path, placements: int, day: date):  # noqa: ANN201 - an Engine
    """A migrated DuckDB warehouse at ``path`` with ``placements`` synthetic placements staged
    around the plan date ``day``."""
    from aftercare import warehouse

    engine = common.engine(str(path), DUCKDB_SETTINGS)
    warehouse.migrate(engine)
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn,
            "benchmarks/synthetic_staging.sql",
            {"placements": placements, "plan_date": day.isoformat()},
        )
    return engine


def parser_of(doc: str) -> argparse.ArgumentParser:
    """The options this benchmark shares with the Postgres one: --placements, --changed-share."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--placements", type=int, default=1_000_000)
    parser.add_argument(
        "--changed-share",
        type=float,
        default=0.01,
        help="share of the placements and of the candidates staged again between the nights",
    )
    return parser


def main() -> None:
    parser = parser_of(__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--everything",
        action="store_true",
        help="every night decides everything in reach, as a full refresh does (to see what "
        "deciding only what changed saves)",
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="also time the nights with three years of settled history in the ledger "
        "(about 8 rows per placement; its insert takes a minute)",
    )
    args = parser.parse_args()

    from aftercare import plan, warehouse
    from aftercare.config import load_config

    config = load_config()
    day = date(2026, 11, 30)
    next_day = day + timedelta(days=1)
    path = Path(tempfile.mkdtemp(prefix="aftercare-plan-bench-")) / "warehouse.duckdb"
    started = time.perf_counter()
    engine = synthetic_book(path, args.placements, day)
    print(
        f"staged {args.placements:,} synthetic placements in {time.perf_counter() - started:.1f} s"
    )

    for round_number in range(1, args.rounds + 1):
        scan = timed_scan(engine)

        fresh_ledger(engine)
        first = timed_plan(engine, config, day, args.everything)
        day_passes(engine, next_day, args.changed_share, salt=round_number)
        typical = timed_plan(engine, config, next_day, args.everything)

        fresh_ledger(engine)
        timed_plan(engine, config, day, args.everything)
        checkpoint(engine)
        idle = timed_plan(engine, config, next_day, args.everything)

        print(f"\nround {round_number}: {args.placements:,} placements")
        print(f"  baseline scan + join          {scan:>7.2f} s")
        report("plan, empty ledger", scan, first)
        report(f"the next night ({args.changed_share:.0%} staged)", scan, typical)
        report("the next night, nothing sent", scan, idle)
        print("  (targets: < 10 s and < 5x the scan)")

    if args.history:
        # the same nights after years of planning: the ledger holds the book's history
        fresh_ledger(engine)
        with warehouse.transaction(engine) as conn:
            history = warehouse.execute_file(
                conn,
                "benchmarks/ledger_history.sql",
                {"milestones": plan._params(config, day)["milestones"], "plan_date": day},
            )
        checkpoint(engine)
        first = timed_plan(engine, config, day, args.everything)
        day_passes(engine, next_day, args.changed_share, salt=0)
        scan = timed_scan(engine)
        typical = timed_plan(engine, config, next_day, args.everything)
        print(f"\nwith {history:,} settled touchpoints of history in the ledger")
        print(f"  baseline scan + join          {scan:>7.2f} s")
        report("plan, the first night", scan, first)
        report(f"the next night ({args.changed_share:.0%} staged)", scan, typical)
    engine.dispose()


if __name__ == "__main__":
    main()
