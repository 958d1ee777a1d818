"""What the DAG files share: default args from config, the ledger asset, the warehouse task
flavour (the names themselves: `aftercare.names`) and the moment a run works for, read from
its context for the task bodies (`aftercare.tasks`).

Kept light (no SQLAlchemy, pandas or GX imports) so DAG files parse fast; heavy modules are
imported inside task bodies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, task

from aftercare.config import Config
from aftercare.names import LEDGER_ASSET, SEND_POOLS, WAREHOUSE_POOL

#: The ledger aftercare.touchpoints (`aftercare.names.LEDGER_ASSET`).
LEDGER = Asset(**LEDGER_ASSET)

#: The critical sections of the warehouse tasks that may run beside other sections' on Postgres
#: (`warehouse_task`); every other warehouse task holds the whole warehouse. The ledger's: the
#: plan, dispatch's batching and its fold (each decides planned rows and the in-flight guard).
LEDGER_SECTION = "ledger"
#: Each entity's pull from the ATS: its own raw rows, changes and watermark (they never touch
#: staging's tables, the ledger or each other's rows).
PULL_SECTIONS = {"Placement": "pull_placements", "Candidate": "pull_candidates"}
#: The marts' rebuild and the report: they write marts.* (which nothing else writes) and a file,
#: reading the rest on one snapshot (`aftercare.marts.rebuild`), so the ledger's and the pulls'
#: writes beside them change nothing they build.
MARTS_SECTION = "marts"


def warehouse_task(
    python_callable: Callable[..., Any] | None = None, *, section: str | None = None, **kwargs: Any
) -> Any:
    """``@warehouse_task`` (or ``@warehouse_task(section=..., **task_kwargs)``): a TaskFlow task
    in the warehouse pool that holds the warehouse while it runs (`aftercare.warehouse.section`):
    on Postgres, without a ``section`` no other warehouse task runs beside it; with one, it runs
    beside the tasks of other sections but never beside one of its own section or one holding
    the whole warehouse. Name a section only for work shown safe beside every other section's
    (docs/running-at-scale.md lists them). On DuckDB the pool's one slot does it all."""
    if python_callable is None:
        return lambda function: warehouse_task(function, section=section, **kwargs)
    return task(_holding_the_warehouse(python_callable, section), pool=WAREHOUSE_POOL, **kwargs)


def _holding_the_warehouse(body: Callable[..., Any], name: str | None) -> Callable[..., Any]:
    @functools.wraps(body)
    def holding(*args: Any, **kwargs: Any) -> Any:
        from aftercare import warehouse
        from aftercare.connections import warehouse_engine

        engine = warehouse_engine()
        try:
            with warehouse.section(engine, name):
                return body(*args, **kwargs)
        finally:
            engine.dispose()

    holding.warehouse_section = name  # what the DAG declares, for the tests and the docs
    return holding


def default_args(config: Config) -> dict[str, Any]:
    """Owner and retries with exponential backoff, from the config file."""
    settings = config.airflow
    return {
        "owner": settings.owner,
        "retries": settings.retries,
        "retry_delay": timedelta(seconds=settings.retry_delay_seconds),
        "retry_exponential_backoff": 2.0,  # doubling (Airflow 3.3 takes a multiplier)
        "max_retry_delay": timedelta(seconds=settings.max_retry_delay_seconds),
    }


def send_priority(config: Config, pool: str) -> int:
    """The ``priority_weight`` of the send tasks in ``pool``: the fewer its slots, the sooner
    its batches start. A channel of 2 slots needs twice the waves of a channel of 4 for the
    same batches; started after the others it would end the run alone, its last batch in a wave
    of its own while every other slot idles (and the scheduler hands the executor the queued
    tasks of the highest weight first: the DAG makes every channel's sends ready together)."""
    slots = {name: config.airflow.pools[name].slots for name in SEND_POOLS.values()}
    return sorted(set(slots.values()), reverse=True).index(slots[pool]) + 1


def run_moment(context: Any) -> datetime:
    """The moment a run works for: its logical date. Manual and asset-triggered runs may have
    no logical date in Airflow 3, so fall back to the moment the run was due (run_after)."""
    return context.get("logical_date") or context["dag_run"].run_after


def run_modes(context: Any) -> dict[str, Any]:
    """The run's full_refresh and preview_days params, as the nightly task bodies take them."""
    params = context["params"]
    return {"full_refresh": params["full_refresh"], "preview_days": params["preview_days"]}
