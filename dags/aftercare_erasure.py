"""aftercare_erasure: candidates' personal data erased on request (a trigger with their ids)
and for the candidates the ATS anonymised or deleted (every morning); the weekly retention.
Runbook: aftercare_erasure.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag

from aftercare.config import load_config
from aftercare.dagkit import default_args, run_moment, warehouse_task

CONFIG = load_config()
AGENCY_TZ = CONFIG.agency.time_zone


@dag(
    dag_id="aftercare_erasure",
    # 04:00 agency time: after the nightly run has staged what the ATS anonymised or deleted
    schedule=CronTriggerTimetable("0 4 * * *", timezone=AGENCY_TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=AGENCY_TZ),
    catchup=False,
    # one at a time: two runs erasing the same candidate would ask the providers twice
    max_active_runs=1,
    default_args=default_args(CONFIG),
    params={
        "candidate_ids": Param(
            [],
            type="array",
            items={"type": "integer", "minimum": 1},
            uniqueItems=True,
            description="The ATS ids of the candidates to erase (a data subject's request). "
            "Empty: the candidates the ATS anonymised or deleted whose data is still held.",
        ),
    },
    tags=["aftercare", "erasure"],
    doc_md=str(Path(__file__).with_name("aftercare_erasure.md")),
)
def aftercare_erasure() -> None:
    from aftercare.tasks import erasure

    @warehouse_task
    def erase_candidates(**context: Any) -> dict[str, int]:
        """Suppress for good, remove from every table and file, ask Twilio and SendGrid to
        erase; an audit row per request. Counts only."""
        run = context["dag_run"]
        return erasure.erase(
            candidate_ids=list(context["params"]["candidate_ids"]),
            run_id=context["run_id"],
            requested_by=run.triggering_user_name or run.run_type,
            requested_at=run_moment(context),
        )

    @warehouse_task
    def enforce_retention(**context: Any) -> dict[str, int]:
        """Weekly (the sweep's day): remove what is past its days (config retention)."""
        return erasure.retain(as_of=run_moment(context))

    # side by side (one after the other in the warehouse pool): retention is due on its day
    # whatever an erasure does, and a failed erasure fails the run
    erase_candidates()
    enforce_retention()


aftercare_erasure()
