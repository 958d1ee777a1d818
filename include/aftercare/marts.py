"""The analysts' marts: reporting tables in ``marts.*`` rebuilt from the ledger, the staging
tables and the engagement tables (see docs/data-dictionary.md for their grain and columns).

Each mart is one file ``sql/marts/<mart>.sql`` that drops and recreates its table from scratch,
so a rebuild is idempotent and picks up late events. `rebuild()` runs them all in one
transaction, in the order of `MARTS` (the scorecard reads the reviews and referrals marts), so
readers see either the old marts or the new ones, never a mix; and on one snapshot of the
warehouse, so the marts agree with each other while dispatch and the nightly write the ledger
beside the rebuild (on Postgres it runs beside them: `aftercare.dagkit.MARTS_SECTION`). The
same files run on DuckDB and Postgres.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from aftercare import warehouse

log = logging.getLogger(__name__)

#: The marts, in rebuild order.
MARTS = (
    "touchpoint_funnel",
    "touchpoint_reasons",
    "reviews",
    "referrals",
    "recruiter_scorecard",
)


def rebuild(engine: Engine | None = None) -> dict[str, int]:
    """Rebuild every mart in one transaction on one snapshot; returns the rows of each mart."""
    counts: dict[str, int] = {}
    with warehouse.transaction(engine, snapshot=True) as conn:
        for mart in MARTS:
            warehouse.execute_file(conn, f"marts/{mart}.sql")
        for mart in MARTS:
            rows = warehouse.query_file(conn, "marts/count.sql", table=f"marts.{mart}")
            counts[mart] = int(rows[0]["row_count"])
    log.info("marts rebuilt: %s", ", ".join(f"{name} {n} rows" for name, n in counts.items()))
    return counts
