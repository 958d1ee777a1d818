"""The body of ``aftercare_ops``'s one task (runbook: dags/aftercare_ops.md), in the shape of
every task body (`aftercare.tasks`): an operator's action from the ops console, applied in the
warehouse (`aftercare.ops.actions`)."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from aftercare.config import load_config


def apply_action(
    *, run_id: str, kind: str, target: str, comment: str, requested_by: str, requested_at: str
) -> dict[str, Any]:
    """Apply the action the run was triggered with, once (keyed by ``run_id``); a bad action
    fails the task without retries (retrying cannot make it good). Counts only."""
    from aftercare import warehouse
    from aftercare.connections import open_warehouse
    from aftercare.ops import actions

    config = load_config()
    try:
        action = actions.Action.of(
            kind=kind,
            target=target,
            comment=comment,
            requested_by=requested_by,
            requested_at=requested_at,
        )
        with open_warehouse() as engine:
            warehouse.migrate(engine)  # an action may come before the nightly's first run
            applied = actions.apply(engine, config, run_id, action)
    except actions.OpsActionError as exc:
        raise AirflowFailException(str(exc)) from exc
    return {"kind": applied.kind, "applied_now": applied.applied_now, **applied.result}
