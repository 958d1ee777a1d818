"""The plan and the marts rebuild on Postgres beside DuckDB, at volume (a benchmark, not a test).

    .venv/bin/python benchmarks/postgres_benchmark.py [--placements 1000000]
        [--changed-share 0.01] [--jit]

Builds the plan benchmark's book (``benchmarks/sql/synthetic_staging.sql``) and three years of
its settled history in the ledger (``benchmarks/sql/ledger_history.sql``) in a DuckDB
warehouse, copies every table to a throwaway Postgres server (as ``console_benchmark.py
--postgres`` does: migrated, copied, analysed; the server runs with ``jit=off``, as the tests'),
then times on each warehouse (DuckDB first), in the same run and the same order:

* baseline: the plan benchmark's scan and join of the staging tables (median of three);
* over the history: the first night, then the next night after a day of sends and a share of
  the book staged again (``--changed-share``), each on a warehouse opened afresh;
* the marts rebuild (``aftercare.marts.rebuild``) over that ledger;
* from an empty ledger: the first night and the next night after a day; with ``--jit``, on
  Postgres a second time with the sessions' ``jit`` on, as a production server's default has
  it (``aftercare.warehouse`` turns it off).

Prints each step's seconds, the plan's against its own warehouse's scan, and Postgres against
DuckDB. The validate gate on Postgres: ``validate_benchmark.py --postgres``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import console_benchmark  # puts the repository on sys.path (tests.pg: the Postgres server)
import plan_benchmark
import sqlalchemy as sa

#: the night planned first, as in the plan and console benchmarks
DAY = date(2026, 11, 30)


def build(path: Path, placements: int) -> sa.Engine:
    """The DuckDB warehouse at ``path``: the synthetic book and three years of its history."""
    from aftercare import plan, warehouse
    from aftercare.config import load_config

    started = time.perf_counter()
    engine = plan_benchmark.synthetic_book(path, placements, DAY)
    with warehouse.transaction(engine) as conn:
        history = warehouse.execute_file(
            conn,
            "benchmarks/ledger_history.sql",
            {"milestones": plan._params(load_config(), DAY)["milestones"], "plan_date": DAY},
        )
    plan_benchmark.checkpoint(engine)
    print(
        f"  {placements:,} placements and {history:,} touchpoints of history in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return engine


def timed(label: str, step: Callable[[], Any]) -> float:
    started = time.perf_counter()
    step()
    return said(label, time.perf_counter() - started)


def said(label: str, seconds: float) -> float:
    """Print a step's seconds as it ends (a long run's figures survive its interruption)."""
    print(f"    {label}: {seconds:.2f} s", flush=True)
    return seconds


def nights(engine: sa.Engine, changed_share: float, label: str) -> dict[str, Any]:
    """A first night and the next one after a day, on the ledger as it is."""
    from aftercare.config import load_config

    config = load_config()
    first = plan_benchmark.timed_plan(engine, config, DAY, False)
    said(f"{label}, first night", first[0])
    plan_benchmark.day_passes(engine, DAY + timedelta(days=1), changed_share, salt=1)
    following = plan_benchmark.timed_plan(engine, config, DAY + timedelta(days=1), False)
    said(f"{label}, next night", following[0])
    return {"first": first, "next": following}


def measure(
    engine: sa.Engine, changed_share: float, jit_engine: sa.Engine | None
) -> dict[str, Any]:
    """Every step on one warehouse (its ledger holding the history), in order."""
    from aftercare import marts

    figures: dict[str, Any] = {"scan": said("scan + join", plan_benchmark.timed_scan(engine))}
    figures["history"] = nights(engine, changed_share, "plan over the history")
    engine.dispose()
    figures["marts"] = timed("marts rebuild", lambda: marts.rebuild(engine))
    plan_benchmark.fresh_ledger(engine)
    figures["empty"] = nights(engine, changed_share, "plan, empty ledger")
    if jit_engine is not None:
        plan_benchmark.fresh_ledger(jit_engine)
        figures["jit"] = nights(jit_engine, changed_share, "plan, empty ledger, jit on")
    return figures


def report(duck: dict[str, Any], postgres: dict[str, Any], changed_share: float) -> None:
    print(f"\n  {'step':<52}{'DuckDB':>10}{'Postgres':>10}{'PG/Duck':>9}")

    def line(label: str, ours: float, theirs: float) -> None:
        print(f"  {label:<52}{ours:>9.2f}s{theirs:>9.2f}s{theirs / ours:>8.1f}x")

    line("baseline scan + join", duck["scan"], postgres["scan"])
    labels = {"first": "first night", "next": f"next night ({changed_share:.0%} staged)"}
    for scenario, title in (("history", "over 3 years of history"), ("empty", "empty ledger")):
        for night, label in labels.items():
            line(f"plan, {title}: {label}", duck[scenario][night][0], postgres[scenario][night][0])
    line("marts rebuild (over the history)", duck["marts"], postgres["marts"])
    print("\n  the plan against its own warehouse's scan (target < 5x), and its phases:")
    for name, figures in (("DuckDB", duck), ("Postgres", postgres)):
        for scenario in ("history", "empty"):
            for night, label in labels.items():
                plan_benchmark.report(
                    f"{name} {scenario}, {label}", figures["scan"], figures[scenario][night]
                )
    if "jit" in postgres:
        print("\n  Postgres, empty ledger, the sessions' jit off against on:")
        for night, label in labels.items():
            off, on = postgres["empty"][night][0], postgres["jit"][night][0]
            print(f"  {label:<52}{off:>9.2f}s{on:>9.2f}s{on / off:>8.1f}x")


def main() -> None:
    parser = plan_benchmark.parser_of(__doc__)
    parser.add_argument(
        "--jit",
        action="store_true",
        help="also the empty ledger's nights on Postgres with the sessions' jit on",
    )
    args = parser.parse_args()

    from aftercare import warehouse

    work = Path(tempfile.mkdtemp(prefix="aftercare-postgres-bench-"))
    print("DuckDB:", flush=True)
    duck_engine = build(work / "warehouse.duckdb", args.placements)
    print("Postgres:", flush=True)
    with console_benchmark.postgres_copy(duck_engine, work) as url:
        print("  measuring DuckDB ...", flush=True)
        duck = measure(duck_engine, args.changed_share, None)
        duck_engine.dispose()
        postgres_engine = warehouse.create_engine(url)
        jit_url = url.update_query_dict({"options": "-c jit=on"})
        jit_engine = warehouse.create_engine(jit_url) if args.jit else None
        print("  measuring Postgres ...", flush=True)
        postgres = measure(postgres_engine, args.changed_share, jit_engine)
        postgres_engine.dispose()
    shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.placements:,} placements")
    report(duck, postgres, args.changed_share)


if __name__ == "__main__":
    main()
