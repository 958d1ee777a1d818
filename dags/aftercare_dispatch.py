"""aftercare_dispatch: send the ledger's due touchpoints, exactly once. Runbook:
aftercare_dispatch.md."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import (
    CronTriggerTimetable,
    Param,
    TriggerRule,
    cross_downstream,
    dag,
    get_current_context,
    task,
)

from aftercare.config import load_config
from aftercare.dagkit import LEDGER, LEDGER_SECTION, default_args, send_priority, warehouse_task
from aftercare.names import SEND_POOLS

CONFIG = load_config()
AGENCY_TZ = CONFIG.agency.time_zone


@dag(
    dag_id="aftercare_dispatch",
    # Every 15 minutes: send times are local wall-clock times in every candidate's zone, so due
    # touchpoints appear all day; between runs nothing holds a worker slot.
    schedule=CronTriggerTimetable("*/15 * * * *", timezone=AGENCY_TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=AGENCY_TZ),
    catchup=False,
    # One run at a time: a run folds the journals of the one before it before it batches.
    max_active_runs=1,
    default_args=default_args(CONFIG),
    params={
        "dry_run": Param(
            False,
            type="boolean",
            description="Batch and render everything that is due and send nothing; the send "
            "tasks log what they would send.",
        ),
    },
    tags=["aftercare", "dispatch"],
    doc_md=str(Path(__file__).with_name("aftercare_dispatch.md")),
)
def aftercare_dispatch() -> None:
    from aftercare.tasks import dispatch

    @warehouse_task(section=LEDGER_SECTION)
    def prepare_batches(**context: Any) -> dict[str, Any]:
        """Fold earlier journals, close the overdue, write the due touchpoints into batches."""
        return dispatch.prepare_batches(
            run_id=context["run_id"],
            try_number=context["ti"].try_number,
            dry_run=bool(context["params"]["dry_run"]),
        )

    batches = prepare_batches()

    sends, descriptors = [], []
    for channel in SEND_POOLS:

        @task(task_id=f"batches_{channel}")
        def batches_of(batches: dict[str, Any], channel: str) -> list[dict[str, Any]]:
            """The channel's batch descriptors (a mapped task maps over a whole return value)."""
            return batches[channel]

        @task(
            task_id=f"send_{channel}",
            pool=SEND_POOLS[channel],
            priority_weight=send_priority(CONFIG, SEND_POOLS[channel]),  # fewest slots first
            map_index_template="{{ batch_label }}",
            # a retry may start soon: it waits for its batch's claim (runbook)
            retry_delay=timedelta(seconds=CONFIG.airflow.send_retry_delay_seconds),
            max_retry_delay=timedelta(seconds=CONFIG.airflow.send_max_retry_delay_seconds),
        )
        def send(batch_id: str, channel: str, path: str, count: int, dry_run: bool) -> dict:
            """One batch through the channel's providers; every answer journaled."""
            get_current_context()["batch_label"] = f"{batch_id} ({count})"
            return dispatch.send_batch(batch_id, channel, path, count, dry_run)

        descriptors.append(batches_of(batches, channel))
        sends.append(send.expand_kwargs(descriptors[-1]))

    # every channel's sends become ready together, so their priority weights order them all
    cross_downstream(descriptors, sends)

    @warehouse_task(section=LEDGER_SECTION)
    def record_outcomes() -> dict[str, int]:
        """Fold the journals into the ledger: sent, failed, suppressed, retried later."""
        return dispatch.record_outcomes()

    # whatever the send tasks did: what they journaled must reach the ledger
    sends >> record_outcomes.override(trigger_rule=TriggerRule.ALL_DONE, outlets=[LEDGER])()


aftercare_dispatch()
