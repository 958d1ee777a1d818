"""Parity (issue 17): the same sandbox seed and days give the same marts and report numbers,
whatever the order in which the sends reach the providers and whichever warehouse holds them.

One day of `make demo`'s story in a small world (`sandbox.localdev.live_story`, the preferences
service beside it): the night's run, the day's dispatch runs, engagement late in the day and two
weeks on (what the candidates did, the marts, the report). Once on DuckDB with every batch sent
in its own order, once on Postgres with every batch sent in reverse, each setup with its own
secrets: the providers see the same messages arrive in another order, and must make of them the
same ids and the same candidates' behaviour (docs/sandbox-providers.md, "Ids").
`tests/test_cluster.py` compares the cluster's story with the demo's by the same measure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aftercare import connections, marts, report
from aftercare.dispatch import journal
from sandbox import SandboxServer, SandboxSettings
from sandbox.ats.settings import AtsSandboxSettings
from sandbox.cluster import cluster_config
from sandbox.localdev import Story, live_story, story_of
from tests import point_connections_at
from tests.test_preferences import serving

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SEED, PLACEMENTS = 11, 3000
#: the night of the story (fixed: the same world whenever the test runs)
NIGHT = date(2026, 11, 20)
#: a mart's columns that tell when a send task got to a touchpoint (its own elapsed time on
#: the clock it read once), not what happened: they differ between any two runs
TIMING = {"sent_at"}


def plain(value: Any) -> Any:
    """A value as both warehouses' drivers give it back alike."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return round(float(value), 6)
    return value


def marts_and_report(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every mart's rows (but their timing columns) and the report's numbers, each a sorted
    list of rows: what analysts read, in a form to compare between runs and warehouses."""
    found: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for mart in marts.MARTS:
            rows = conn.execute(sa.text(f"select * from marts.{mart}")).mappings().all()  # noqa: S608 (a mart's name)
            found[mart] = _sorted({k: v for k, v in row.items() if k not in TIMING} for row in rows)
    for query, rows in report.numbers(engine).items():
        found[f"report {query}"] = _sorted(rows)
    return found


def _sorted(rows: Any) -> list[tuple]:
    return sorted(
        (tuple(sorted((key, plain(value)) for key, value in row.items())) for row in rows),
        key=repr,
    )


def lived(
    home: Path, warehouse: str, batch_order: Callable[[list], list]
) -> dict[str, list[tuple]]:
    """The day on a fresh sandbox of the seed, into ``warehouse`` (a connection), each batch's
    touchpoints sent in ``batch_order``; the marts and report numbers it left."""
    home.mkdir()
    runs, _, settings = story_of(1, "usual", NIGHT)
    ats = AtsSandboxSettings(clock_start=settings.ats.clock_start, placements=PLACEMENTS)
    read_batch = journal.read_batch
    with (
        pytest.MonkeyPatch.context() as patch,
        SandboxServer(SandboxSettings(seed=SEED, ats=ats)) as server,
    ):
        point_connections_at(server, patch)
        patch.setenv("AIRFLOW_CONN_AFTERCARE_WAREHOUSE", warehouse)
        # batch files, report and the rest under home: each run its own (as on another host)
        patch.setenv("AFTERCARE_CONFIG", str(cluster_config(home)))
        # dag.test() runs the send tasks in this process: they read their batch through this
        patch.setattr(journal, "read_batch", lambda path: batch_order(read_batch(path)))
        with serving(server, home, patch) as preferences:
            live_story(server.url, Story(home / "logs"), runs, preferences=preferences.url)
        engine = connections.warehouse_engine()
        try:
            return marts_and_report(engine)
        finally:
            engine.dispose()


def test_the_marts_and_report_do_not_depend_on_arrival_order_or_warehouse(
    airflow_db: None, postgres_server: Any, tmp_path: Path
) -> None:
    duckdb = json.dumps({"conn_type": "duckdb", "host": str(tmp_path / "warehouse.duckdb")})
    in_order = lived(tmp_path / "duckdb", duckdb, list)
    with postgres_server.database() as postgres:
        reversed_ = lived(tmp_path / "postgres", postgres, lambda items: items[::-1])
    # the story reached every part of the comparison: sends, what the candidates did, reviews
    funnel = [dict(row) for row in in_order["touchpoint_funnel"]]
    assert sum(row["sent"] for row in funnel) > 50, funnel
    assert sum(row["opened_or_viewed"] for row in funnel) > 0, funnel
    assert sum(row["replied"] for row in funnel) > 0, funnel
    assert in_order["reviews"], "no reviews: the reviews mart is not compared"
    for name, rows in in_order.items():
        assert rows == reversed_[name], (name, set(rows) ^ set(reversed_[name]))
