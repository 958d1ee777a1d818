"""What the DAG files share: default args from config, the ledger asset, the warehouse task
flavour (the names themselves: `aftercare.names`) and the moment a run works for, read from
its context for the task bodies (`aftercare.tasks`).

Kept light (no SQLAlchemy, pandas or GX imports) so DAG files parse fast; heavy modules are
imported inside task bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, task

from aftercare.config import Config
from aftercare.names import LEDGER_ASSET, WAREHOUSE_POOL

#: The ledger aftercare.touchpoints (`aftercare.names.LEDGER_ASSET`).
LEDGER = Asset(**LEDGER_ASSET)


def warehouse_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """``@warehouse_task`` (or ``@warehouse_task(**task_kwargs)``): a TaskFlow task in the
    warehouse pool."""
    return task(python_callable, pool=WAREHOUSE_POOL, **kwargs)


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


def run_moment(context: Any) -> datetime:
    """The moment a run works for: its logical date. Manual and asset-triggered runs may have
    no logical date in Airflow 3, so fall back to the moment the run was due (run_after)."""
    return context.get("logical_date") or context["dag_run"].run_after
