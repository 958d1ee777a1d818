"""What a DAG run is about: its business date in the agency's time zone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo


def run_moment(context: Any) -> datetime:
    """The moment a run works for: its logical date. Manual and asset-triggered runs may have
    no logical date in Airflow 3, so fall back to the moment the run was due (run_after)."""
    return context.get("logical_date") or context["dag_run"].run_after


def run_date(context: Any, time_zone: str) -> date:
    """The local date a run works for (a scheduled run at 02:00 agency time: that day)."""
    return run_moment(context).astimezone(ZoneInfo(time_zone)).date()
