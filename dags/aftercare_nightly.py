"""aftercare_nightly: the nightly candidate-aftercare run. Runbook: aftercare_nightly.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, TaskGroup, TriggerRule, chain, dag

from aftercare.config import load_config
from aftercare.dagkit import (
    LEDGER,
    LEDGER_SECTION,
    PULL_SECTIONS,
    default_args,
    run_modes,
    run_moment,
    warehouse_task,
)

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
    params={
        "full_refresh": Param(
            False,
            type="boolean",
            description="Pull every placement and candidate, not just changes, sweep for "
            "deleted placements, and plan every subject again, not just what changed (first "
            "load, recovery).",
        ),
        "preview_days": Param(
            0,
            type="integer",
            minimum=0,
            maximum=60,
            description="Read only: print what planning the next N days would decide, by "
            "milestone, channel and reason; pull, stage, plan and record nothing (0: a night).",
        ),
        "override_quality_gate": Param(
            False,
            type="boolean",
            description="Let this run through a tripped quality breaker, after checking the "
            "failure is real data (verdicts and quarantine are still recorded).",
        ),
    },
    tags=["aftercare", "nightly"],
    doc_md=str(Path(__file__).with_name("aftercare_nightly.md")),
)
def aftercare_nightly() -> None:
    from aftercare.tasks import nightly

    @warehouse_task
    def prepare_warehouse() -> dict[str, int]:
        """Apply pending warehouse migrations (a no-op when the schema is current)."""
        return nightly.prepare_warehouse()

    prepared = prepare_warehouse()

    with TaskGroup("extract", tooltip="ATS -> raw.*"):

        @warehouse_task(section=PULL_SECTIONS["Placement"])
        def pull_placements(**context: Any) -> dict[str, int]:
            """Changed placements from the ATS into raw.placements, page by page."""
            return nightly.pull("Placement", run_id=context["run_id"], **run_modes(context))

        @warehouse_task(section=PULL_SECTIONS["Candidate"])
        def pull_candidates(**context: Any) -> dict[str, int]:
            """Changed candidates from the ATS into raw.candidates, page by page."""
            return nightly.pull("Candidate", run_id=context["run_id"], **run_modes(context))

        pulled = [pull_placements(), pull_candidates()]

    with TaskGroup("validate", tooltip="Great Expectations gate -> staging.*, quarantine"):

        @warehouse_task
        def check_quality(**context: Any) -> dict[str, int]:
            """GX gate: bad records to quality.quarantine; a broken load stops the run."""
            return nightly.validate(
                run_id=context["run_id"],
                as_of=run_moment(context),
                override=context["params"]["override_quality_gate"],
            )

        @warehouse_task
        def stage_records() -> dict[str, int]:
            """Latest valid version of each record into staging.placements / candidates."""
            return nightly.stage()

        checked = check_quality()
        staged = stage_records()

    # after staging (it compares ids with staging's); in no group: extract's is a cycle
    @warehouse_task
    def sweep_deleted_placements(**context: Any) -> dict[str, int]:
        """Weekly (and on full refresh): flag placements deleted in the ATS."""
        return nightly.sweep(
            run_id=context["run_id"],
            as_of=run_moment(context),
            full_refresh=context["params"]["full_refresh"],
        )

    swept = sweep_deleted_placements()

    with TaskGroup("plan", tooltip="milestone cohorts -> the ledger aftercare.touchpoints"):

        @warehouse_task(section=LEDGER_SECTION)
        def plan_touchpoints(**context: Any) -> dict[str, int]:
            """Decide the night's touchpoints into the ledger (or, with preview_days, print)."""
            return nightly.plan(as_of=run_moment(context), **run_modes(context))

        # after the weekly sweep, which is skipped on other days
        planned = plan_touchpoints.override(
            trigger_rule=TriggerRule.NONE_FAILED, outlets=[LEDGER]
        )()

        @warehouse_task
        def request_renders(**context: Any) -> dict[str, int]:
            """Ask the video platform (if any) to render the coming days' videos ahead."""
            return nightly.request_renders(as_of=run_moment(context), **run_modes(context))

        planned >> request_renders()

    with TaskGroup("record", tooltip="run summary: counts per stage"):

        @warehouse_task
        def write_run_summary(stages: dict[str, list], **context: Any) -> dict[str, Any]:
            """Store this run's counts per stage in aftercare.run_summaries and the log."""
            return nightly.write_run_summary(
                stages,
                dag_id=context["dag"].dag_id,
                run_id=context["run_id"],
                as_of=run_moment(context),
                preview_days=context["params"]["preview_days"],
            )

        recorded = write_run_summary.override(trigger_rule=TriggerRule.NONE_FAILED)(
            stages={
                "prepare": [prepared],
                "extract": [*pulled, swept],
                "validate": [checked, staged],
                "plan": [planned],
            }
        )

    chain(prepared, pulled, checked, staged, swept, planned, recorded)


aftercare_nightly()
