"""aftercare_nightly: the nightly candidate-aftercare run. Runbook: aftercare_nightly.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import CronTriggerTimetable, TaskGroup, dag, get_current_context

from aftercare.config import load_config
from aftercare.dagkit import default_args, warehouse_task

CONFIG = load_config()
AGENCY_TZ = CONFIG.agency.time_zone


@dag(
    dag_id="aftercare_nightly",
    # 02:00 agency time: after the ATS's working day, before the first sends at 08:00 local.
    schedule=CronTriggerTimetable("0 2 * * *", timezone=AGENCY_TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=AGENCY_TZ),
    catchup=False,
    # One run at a time: each run plans against the ledger the previous run left behind.
    max_active_runs=1,
    max_consecutive_failed_dag_runs=3,
    default_args=default_args(CONFIG),
    tags=["aftercare", "nightly"],
    doc_md=str(Path(__file__).with_name("aftercare_nightly.md")),
)
def aftercare_nightly() -> None:
    @warehouse_task
    def prepare_warehouse() -> dict[str, int]:
        """Apply pending warehouse migrations (a no-op when the schema is current)."""
        from aftercare import warehouse

        return {"migrations_applied": len(warehouse.migrate())}

    prepared = prepare_warehouse()

    with TaskGroup("record", tooltip="run summary: counts per stage"):

        @warehouse_task
        def write_run_summary(stages: dict[str, dict[str, int]]) -> dict[str, Any]:
            """Store this run's counts per stage in aftercare.run_summaries and the log."""
            from aftercare import summary, warehouse
            from aftercare.runs import run_date

            context = get_current_context()
            with warehouse.transaction() as conn:
                return summary.record_run(
                    conn,
                    dag_id=context["dag"].dag_id,
                    run_id=context["run_id"],
                    run_date=run_date(context, AGENCY_TZ),
                    stages=stages,
                )

        write_run_summary(stages={"prepare": prepared})


aftercare_nightly()
