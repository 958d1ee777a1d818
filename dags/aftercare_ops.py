"""aftercare_ops: apply an operator's action from the ops console (pause or resume a milestone,
judge quarantined records again) in the warehouse, once. Runbook: aftercare_ops.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Param, dag

from aftercare.config import load_config
from aftercare.dagkit import default_args, warehouse_task
from aftercare.names import OPS_DAG, OPS_KINDS

CONFIG = load_config()


@dag(
    dag_id=OPS_DAG,
    # Only when an operator acts: the console triggers a run with the action as its conf.
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz=CONFIG.agency.time_zone),
    catchup=False,
    # Unpaused from the start: it never runs by itself, and a paused DAG would leave every
    # action the console asks for waiting.
    is_paused_upon_creation=False,
    # One action at a time, in the order asked (each is one warehouse transaction anyway).
    max_active_runs=1,
    default_args=default_args(CONFIG),
    params={
        "kind": Param(type="string", enum=list(OPS_KINDS), description="what to do"),
        "target": Param(
            type="string",
            minLength=1,
            description="pause/resume: a milestone's name; rejudge: "
            "record:<entity>/<record_id>/<load_id> or reason:<expectation>[/<column>]",
        ),
        "comment": Param(type="string", minLength=1, description="why (kept with the action)"),
        "requested_by": Param(type="string", minLength=1, description="the Airflow user"),
        "requested_at": Param(
            type="string", format="date-time", description="when it was asked for (ISO 8601)"
        ),
    },
    tags=["aftercare", "ops"],
    doc_md=str(Path(__file__).with_name("aftercare_ops.md")),
)
def aftercare_ops() -> None:
    from aftercare.tasks import ops

    @warehouse_task
    def apply_action(**context: Any) -> dict[str, Any]:
        """Apply the run's action in one transaction and record it in aftercare.ops_actions."""
        params = context["params"]
        return ops.apply_action(
            run_id=context["run_id"],
            kind=params["kind"],
            target=params["target"],
            comment=params["comment"],
            requested_by=params["requested_by"],
            requested_at=params["requested_at"],
        )

    apply_action()


aftercare_ops()
