"""What the DAG files share: default args from config, the warehouse pool and task flavour.

Kept light (no SQLAlchemy, pandas or GX imports) so DAG files parse fast; heavy modules are
imported inside task bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, task

from aftercare.config import Config

#: The ledger aftercare.touchpoints: updated by the nightly plan and by dispatch; the engagement
#: DAG runs when it changes (besides its own schedule).
LEDGER = Asset(name="aftercare_touchpoints", uri="aftercare://warehouse/aftercare.touchpoints")

#: Every task that opens the warehouse runs in this pool (1 slot by default): DuckDB admits one
#: writer process at a time. `aftercare.warehouse.get_engine` enforces it at run time.
WAREHOUSE_POOL = "aftercare_warehouse"

#: The pool of each channel's send tasks (their slots and rates: config `airflow.pools`).
SEND_POOLS = {
    channel: f"aftercare_send_{channel}" for channel in ("email", "sms", "video", "phone")
}


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
