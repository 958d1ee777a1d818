"""What a DAG run is about: its business date in the agency's time zone."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo


def run_date(context: Any, time_zone: str) -> date:
    """The local date a run works for.

    A scheduled run at 02:00 agency time works for that day. Manual and asset-triggered runs may
    have no logical date in Airflow 3, so fall back to the moment the run was due (run_after).
    """
    moment = context.get("logical_date") or context["dag_run"].run_after
    return moment.astimezone(ZoneInfo(time_zone)).date()
