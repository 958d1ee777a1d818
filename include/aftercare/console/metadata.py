"""What the console reads and writes in Airflow's metadata database, in the api-server's process
(through the request's session): the runs of the aftercare DAGs, the operators' actions as runs
of `aftercare_ops` (triggered the way Airflow's own trigger endpoint does), the send task that
carried a dispatch batch, and the audit log (Browse > Audit Log)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.api_fastapi.common.dagbag import get_latest_version_of_dag
from airflow.api_fastapi.core_api.datamodels.dag_run import TriggerDAGRunPostBody
from airflow.exceptions import ParamValidationError
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.models.log import Log
from airflow.models.taskinstance import TaskInstance
from airflow.utils.state import DagRunState
from airflow.utils.types import DagRunTriggeredByType, DagRunType
from sqlalchemy import select

from aftercare.console import DISPATCH_DAG
from aftercare.names import OPS_DAG

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from airflow.models.dagbag import DBDagBag
    from sqlalchemy.orm import Session

    from aftercare.ops.read import BatchRef

#: failed actions stay on the pages this long (then the run's page in the UI keeps them)
FAILED_ACTIONS_SHOWN = timedelta(days=7)


@dataclass(frozen=True)
class RunRef:
    """One Airflow run of an aftercare DAG, as the pages show and link it."""

    dag_id: str
    run_id: str
    state: str
    run_type: str
    run_after: datetime
    start_date: datetime | None
    end_date: datetime | None
    triggered_by: str | None  # the user who triggered it (manual runs)


@dataclass(frozen=True)
class ActionRun:
    """An operator's action as a run of `aftercare_ops`, with the conf the console gave it.
    ``stage``: ``pending`` (queued or running), ``applying`` (succeeded after the snapshot the
    page reads was taken: the next snapshot shows it applied), ``failed``."""

    run: RunRef
    kind: str
    target: str
    comment: str
    requested_by: str
    stage: str


def _ref(run: DagRun) -> RunRef:
    return RunRef(
        dag_id=run.dag_id,
        run_id=run.run_id,
        state=str(run.state),
        run_type=str(run.run_type),
        run_after=run.run_after,
        start_date=run.start_date,
        end_date=run.end_date,
        triggered_by=run.triggering_user_name,
    )


def find_run(session: Session, dag_id: str, run_id: str) -> RunRef | None:
    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    return _ref(run) if run else None


def last_runs(session: Session, dag_ids: tuple[str, ...]) -> dict[str, RunRef | None]:
    """The latest run (by its run-after moment) of each DAG, None for a DAG that never ran."""
    latest = {}
    for dag_id in dag_ids:
        run = session.scalar(
            select(DagRun)
            .where(DagRun.dag_id == dag_id)
            .order_by(DagRun.run_after.desc(), DagRun.id.desc())
            .limit(1)
        )
        latest[dag_id] = _ref(run) if run else None
    return latest


def actions(session: Session, as_of: datetime | None, now: datetime) -> list[ActionRun]:
    """The actions not yet shown as applied on a page that reads a snapshot taken at ``as_of``
    (None: the live warehouse, where a succeeded run is applied): queued and running runs of
    `aftercare_ops`, those that succeeded after the snapshot, and those that failed lately.
    Newest first."""
    states = [DagRunState.QUEUED, DagRunState.RUNNING, DagRunState.FAILED]
    if as_of is not None:
        states.append(DagRunState.SUCCESS)
    runs = session.scalars(
        select(DagRun)
        .where(DagRun.dag_id == OPS_DAG, DagRun.state.in_(states))
        .where(DagRun.run_after >= now - FAILED_ACTIONS_SHOWN)
        .order_by(DagRun.run_after.desc())
    )
    found = []
    for run in runs:
        if run.state == DagRunState.SUCCESS and (run.end_date is None or run.end_date <= as_of):
            continue
        stage = {DagRunState.SUCCESS: "applying", DagRunState.FAILED: "failed"}.get(
            run.state, "pending"
        )
        conf = run.conf or {}
        found.append(
            ActionRun(
                run=_ref(run),
                kind=str(conf.get("kind", "")),
                target=str(conf.get("target", "")),
                comment=str(conf.get("comment", "")),
                requested_by=str(conf.get("requested_by") or run.triggering_user_name or ""),
                stage=stage,
            )
        )
    return found


def ops_paused(session: Session) -> bool | None:
    """Whether the `aftercare_ops` DAG is paused (its runs then wait); None: not deployed."""
    return session.scalar(
        select(DagModel.is_paused).where(DagModel.dag_id == OPS_DAG, ~DagModel.is_stale)
    )


def trigger_action(
    session: Session,
    dag_bag: DBDagBag,
    user: BaseUser,
    *,
    kind: str,
    target: str,
    comment: str,
) -> RunRef:
    """Queue a run of `aftercare_ops` for one action, as Airflow's trigger endpoint queues a
    manual run (its request body validates the run's values against the DAG's params), with the
    user as the triggering user; the action is recorded in the audit log (without its comment,
    which the run's conf keeps). Raises `LookupError` when the DAG is not deployed, and
    `ValueError` when the DAG refuses the conf."""
    if ops_paused(session) is None:
        raise LookupError(f"the DAG {OPS_DAG} is not deployed (not parsed by Airflow yet?)")
    dag = get_latest_version_of_dag(dag_bag, OPS_DAG, session)
    conf = {
        "kind": kind,
        "target": target,
        "comment": comment,
        "requested_by": user.get_name(),
        "requested_at": datetime.now(UTC).isoformat(),
    }
    values = TriggerDAGRunPostBody(logical_date=None, conf=conf).validate_context(dag)
    try:
        run = dag.create_dagrun(
            run_id=values["run_id"],
            logical_date=values["logical_date"],
            data_interval=values["data_interval"],
            run_after=values["run_after"],
            conf=values["conf"],
            run_type=DagRunType.MANUAL,
            triggered_by=DagRunTriggeredByType.UI,
            triggering_user_name=user.get_name(),
            state=DagRunState.QUEUED,
            session=session,
        )
    except ParamValidationError as exc:
        raise ValueError(str(exc)) from exc
    audit(session, user, "aftercare_ops.request", dag_id=OPS_DAG, run_id=run.run_id, kind=kind,
          target=target)  # fmt: skip
    return _ref(run)


def audit(
    session: Session,
    user: BaseUser,
    event: str,
    *,
    dag_id: str | None = None,
    run_id: str | None = None,
    **extra: Any,
) -> None:
    """A row of Airflow's audit log (Browse > Audit Log): who, when (the row's time), what.
    ``extra`` holds ids and names only, never contact details."""
    row = Log(event=event, owner=user.get_name(), owner_display_name=user.get_name(),
              extra=json.dumps(extra), dag_id=dag_id, run_id=run_id)  # fmt: skip
    session.add(row)


def send_tasks(session: Session, batches: tuple[BatchRef, ...]) -> dict[str, tuple[str, int]]:
    """The mapped send task that carried each dispatch batch: batch id -> (task id, map index).
    The send task names its map index by the batch (``"<batch_id> (<count>)"``); a batch whose
    task instance is gone (a cleared database) is left out."""
    found = {}
    for batch in batches:
        task_id = f"send_{batch.channel}"
        map_index = session.scalar(
            select(TaskInstance.map_index).where(
                TaskInstance.dag_id == DISPATCH_DAG,
                TaskInstance.run_id == batch.run_id,
                TaskInstance.task_id == task_id,
                TaskInstance._rendered_map_index.startswith(f"{batch.batch_id} (", autoescape=True),
            )
        )
        if map_index is not None:
            found[batch.batch_id] = (task_id, map_index)
    return found
