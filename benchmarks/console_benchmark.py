"""What the ops console's pages cost to read at volume (a benchmark, not a test).

    .venv/bin/python benchmarks/console_benchmark.py [--placements 1000000] [--rounds 5]
        [--postgres]

Builds a DuckDB warehouse as the plan benchmark builds its history (`plan_benchmark`):
N synthetic placements (``benchmarks/sql/synthetic_staging.sql``), the ledger of the book planned
for the three years before the day (``benchmarks/sql/ledger_history.sql``, about 8 rows per
placement), the night of the day planned (``aftercare.plan``), then what years of running leave
beside it (``benchmarks/sql/console_activity.sql``: sms and failures in the history, the day's
sends so far and a few in doubt, every send in a dispatch batch with a delivered event, bounces,
spam reports and opens for the last 60 days, reviews and replies, suppressions, quarantined
records, the nightly runs' records, operators' actions and a pause).

Then times each page of the console (each read function of ``aftercare.ops.read`` a page calls),
the median of ``--rounds``, as the console serves a request: on the read engine it keeps open
between requests (`aftercare.warehouse.ReadEngines`), and on a read engine opened for the page
and disposed of after it (the console's way before it kept them; the opening timed apart). On
DuckDB the engine reads the published snapshot (`aftercare.warehouse.publish_snapshot` /
`open_snapshot`); with ``--postgres``, also on a throwaway Postgres server (as `tests.pg`
starts) holding the same rows, read live. The baseline, timed the same way: ``select count(*)``
of the ledger.

Target: every page under 300 ms as the console serves it (the engine kept open). Machines are
noisy: compare the ratios to the baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests: the Postgres server

import common  # noqa: E402
import plan_benchmark  # noqa: E402
from tests import pg  # noqa: E402

#: the day the console looks at (the night planned), and the instant it is read at
DAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
#: a candidate of the synthetic book, and the mobile console_activity.sql gives it
CANDIDATE, MOBILE = 12345, "07911 123456"
#: the json reasons console_activity.sql quarantines records for
REASONS = {
    "not_null": {"expectation": "expect_column_values_to_not_be_null", "column": "start_date"},
    "in_set": {"expectation": "expect_column_values_to_be_in_set", "column": "status"},
}
TARGET_MS = 300
#: the build's DuckDB (setup, not timed): the console's activity updates the whole history in
#: one transaction, more than the plan benchmark's 2 GB hold at a million placements
BUILD_SETTINGS = {**plan_benchmark.DUCKDB_SETTINGS, "memory_limit": "6GB"}
#: the line of the report that times opening the read engine (every request does)
OPEN = "open: engine + connection"


def build(path: Path, placements: int) -> sa.Engine:
    """The DuckDB warehouse at ``path``: the plan benchmark's book and history, the day
    planned, and the console's activity around it."""
    from aftercare import plan, warehouse
    from aftercare.config import load_config

    config = load_config()
    engine = common.engine(str(path), BUILD_SETTINGS)
    warehouse.migrate(engine)
    steps: list[tuple[str, Callable[[sa.Connection], Any]]] = [
        (
            f"{placements:,} synthetic placements staged",
            lambda conn: warehouse.execute_file(
                conn,
                "benchmarks/synthetic_staging.sql",
                {"placements": placements, "plan_date": DAY.isoformat()},
            ),
        ),
        (
            # every touchpoint due before the day (the history's 30-day gap closed)
            "ledger history",
            lambda conn: warehouse.execute_file(
                conn,
                "benchmarks/ledger_history.sql",
                {
                    "milestones": plan._params(config, DAY)["milestones"],
                    "plan_date": DAY + timedelta(days=30),
                },
            ),
        ),
    ]
    for label, step in steps:
        started = time.perf_counter()
        with warehouse.transaction(engine) as conn:
            rows = step(conn)
        print(f"  {label}: {rows:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    decisions = plan.plan(engine, config, DAY)
    print(
        f"  the day planned: {sum(decisions.values()):,} decisions in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    started = time.perf_counter()
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn,
            "benchmarks/console_activity.sql",
            {
                "day": DAY,
                "now": NOW,
                **{name: json.dumps(reason) for name, reason in REASONS.items()},
            },
        )
    print(f"  the console's activity in {time.perf_counter() - started:.0f} s", flush=True)
    plan_benchmark.checkpoint(engine)
    return engine


def sizes(conn: sa.Connection) -> dict[str, int]:
    tables = (
        "aftercare.touchpoints",
        "aftercare.dispatch_batches",
        "engagement.delivery_events",
        "engagement.responses",
        "staging.placements",
        "staging.candidates",
        "quality.quarantine",
    )
    return {
        table: conn.exec_driver_sql(f"select count(*) from {table}").scalar_one()  # noqa: S608
        for table in tables
    }


def pages(config: Any) -> dict[str, Callable[[sa.Connection], Any]]:
    """Each page (or part of one) the console serves, as the read calls it makes."""
    from aftercare.ops import read

    return {
        "baseline: count(*) of the ledger": lambda conn: conn.exec_driver_sql(
            "select count(*) from aftercare.touchpoints"
        ).scalar_one(),
        "today": lambda conn: read.today(conn, DAY),
        "rows behind a count": lambda conn: read.touchpoints(
            conn, day=DAY, milestone="first_day", status="sent"
        ),
        "failures and rates": lambda conn: read.failures(conn, now=NOW, settings=config.ops),
        "candidate by id": lambda conn: read.candidate(
            conn, str(CANDIDATE), region=config.agency.default_region
        ),
        "candidate by email": lambda conn: read.candidate(
            conn, f"C{CANDIDATE}@EXAMPLE.COM", region=config.agency.default_region
        ),
        "candidate by mobile": lambda conn: read.candidate(
            conn, MOBILE, region=config.agency.default_region
        ),
        "quarantine": lambda conn: read.quarantine(conn, now=NOW),
        "quarantine, one reason": lambda conn: read.quarantine(
            conn, now=NOW, reason=REASONS["not_null"]["expectation"]
        ),
        "milestones": lambda conn: read.milestones(conn, config),
        "run: nightly": lambda conn: read.run(
            conn, dag_id=read.NIGHTLY, run_id=f"scheduled__{DAY}T02:00:00+00:00"
        ),
        "run: dispatch": lambda conn: read.run(
            conn, dag_id=read.DISPATCH, run_id=f"scheduled__{DAY}T08:00:00+00:00"
        ),
        "run: engagement": lambda conn: read.run(
            conn,
            dag_id=read.ENGAGEMENT,
            run_id="scheduled__engagement",
            started_at=NOW - timedelta(hours=3),
            ended_at=NOW,
        ),
    }


def measure(
    open_engine: Callable[[], sa.Engine], config: Any, rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Seconds of each page per round: as a request is served now, a read engine opened and
    connected (timed apart, as "open"), the page read, the engine disposed of; and on one
    connection kept open (warm: the engine's caches filled by the rounds before)."""
    found = check(open_engine, config)
    cold: dict[str, list[float]] = {name: [] for name in [*pages(config), OPEN]}
    warm: dict[str, list[float]] = {name: [] for name in pages(config)}
    kept = open_engine()
    with kept.connect() as warm_conn:
        for _ in range(rounds):
            for name, page in pages(config).items():
                started = time.perf_counter()
                engine = open_engine()
                with engine.connect() as conn:
                    opened = time.perf_counter()
                    page(conn)
                    cold[name].append(time.perf_counter() - opened)
                engine.dispose()
                cold[OPEN].append(opened - started)
                started = time.perf_counter()
                page(warm_conn)
                warm[name].append(time.perf_counter() - started)
    kept.dispose()
    print("  " + ", ".join(f"{key} {value}" for key, value in found.items()))
    return cold, warm


def check(open_engine: Callable[[], sa.Engine], config: Any) -> dict[str, Any]:
    """What the pages find (that they read the volume they are timed on), once."""
    from aftercare.ops import read

    engine = open_engine()
    with engine.connect() as conn:
        today = read.today(conn, DAY)
        failures = read.failures(conn, now=NOW, settings=config.ops)
        by_mobile = read.candidate(conn, MOBILE, region=config.agency.default_region)
        found = {
            **sizes(conn),
            "today's touchpoints": sum(c.count for c in today.counts),
            "failed (30 days)": sum(g.count for g in failures.groups),
            "candidate found by mobile": by_mobile is not None
            and by_mobile.candidate_id == CANDIDATE,
        }
    engine.dispose()
    return {key: f"{value:,}" if isinstance(value, int) else value for key, value in found.items()}


def report(label: str, cold: dict[str, list[float]], warm: dict[str, list[float]]) -> None:
    medians = {name: statistics.median(seconds) for name, seconds in cold.items()}
    warmed = {name: statistics.median(seconds) for name, seconds in warm.items()}
    opening = medians.pop(OPEN)
    baseline = next(iter(medians.values()))
    print(
        f"\n{label}, medians in ms: a page on a fresh engine (x the baseline), with the "
        "engine's opening, and on the engine kept open (as the console serves it)"
    )
    for name, seconds in medians.items():
        total = seconds + opening
        flag = "" if warmed[name] * 1000 < TARGET_MS else f"   over {TARGET_MS} ms"
        print(
            f"  {name:<34}{seconds * 1000:>8.1f}  x{seconds / baseline:>6.1f}"
            f"   {total * 1000:>8.1f}   {warmed[name] * 1000:>8.1f}{flag}"
        )
    print(f"  {OPEN:<34}{opening * 1000:>8.1f}")


@contextmanager
def postgres_copy(duckdb: sa.Engine, work: Path) -> Iterator[sa.URL]:
    """A throwaway Postgres server holding the DuckDB warehouse's rows (migrated, the
    console's indexes included, then every table copied through CSV files, analysed)."""
    from aftercare import warehouse

    with pg.server() as server, server.database() as uri:
        url = sa.make_url(uri)
        engine = warehouse.create_engine(url)
        warehouse.migrate(engine)
        started = time.perf_counter()
        with duckdb.connect() as source, engine.connect() as target:
            tables = target.exec_driver_sql(
                "select table_schema, table_name from information_schema.tables"
                " where table_schema in ('raw', 'staging', 'quality', 'aftercare', 'engagement')"
                " and table_type = 'BASE TABLE' and table_name <> 'schema_migrations'"
            ).all()
            for schema, table in tables:
                copy_table(source, target, f"{schema}.{table}", work / f"{schema}.{table}.csv")
            target.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("vacuum analyze")
        engine.dispose()
        print(f"  copied to Postgres in {time.perf_counter() - started:.0f} s", flush=True)
        yield url


def copy_table(source: sa.Connection, target: sa.Connection, table: str, path: Path) -> None:
    schema, name = table.split(".")
    columns = [
        row[0]
        for row in target.exec_driver_sql(
            "select column_name from information_schema.columns where table_schema = %s"
            " and table_name = %s order by ordinal_position",
            (schema, name),
        )
    ]
    listed = ", ".join(columns)
    source.exec_driver_sql(
        f"copy (select {listed} from {table}) to '{path}' (format csv, header false)"  # noqa: S608
    )
    cursor = target.connection.dbapi_connection.cursor()
    with (
        path.open("rb") as rows,
        cursor.copy(f"copy {table} ({listed}) from stdin (format csv)") as copy,
    ):
        while chunk := rows.read(1 << 20):
            copy.write(chunk)
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--placements", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway Postgres")
    args = parser.parse_args()

    from aftercare import warehouse
    from aftercare.config import load_config

    config = load_config()
    work = Path(tempfile.mkdtemp(prefix="aftercare-console-bench-"))
    path = work / "warehouse.duckdb"
    print(f"building the warehouse ({args.placements:,} placements) ...", flush=True)
    engine = build(path, args.placements)
    warehouse.publish_snapshot(engine)

    def snapshot() -> sa.Engine:
        return warehouse.open_snapshot(engine.url)[0]

    print("\nDuckDB, the published snapshot read only:")
    report("DuckDB snapshot", *measure(snapshot, config, args.rounds))
    if args.postgres:
        print("\nPostgres:", flush=True)
        with postgres_copy(engine, work) as url:
            report(
                "Postgres, live",
                *measure(lambda: warehouse.create_engine(url), config, args.rounds),
            )
    engine.dispose()


if __name__ == "__main__":
    main()
