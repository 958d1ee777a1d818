"""The operators' actions, applied in the warehouse by the ``aftercare_ops`` DAG's one task (the
console triggers it with the action as its conf; the web process never writes the warehouse).

* ``pause`` a milestone: dispatch batches none of its touchpoints from its next run on (they
  stay planned, waiting); those whose window passes meanwhile expire, ``milestone_paused``.
* ``resume`` it: the pause is deleted; the next dispatch run sends what is still in its window.
* ``rejudge``: open quarantine rows are asked to be judged again by the next validation (one
  record's version, ``record:<entity>/<record_id>/<load_id>``, or every row failing a rule,
  ``reason:<expectation>[/<column>]``); those that pass then are released and staged.

`apply` applies one action and records it in ``aftercare.ops_actions`` in one transaction, keyed
by the dag run's id: a retried or re-run task finds it recorded and applies nothing again.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.engine import Engine

from aftercare import warehouse
from aftercare.config import Config
from aftercare.names import OpsKind

log = logging.getLogger(__name__)

_RECORD = re.compile(r"^record:(placement|candidate)/([^/\s]+)/([^/\s]+)$")
_REASON = re.compile(r"^reason:(\w+)(?:/(\w+))?$")


class OpsActionError(ValueError):
    """An action that cannot be applied as asked (a bad target, an empty comment): retrying
    cannot help."""


class Action(BaseModel):
    """One action as an operator asked for it (the ``aftercare_ops`` run's params)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    kind: OpsKind
    target: str = Field(min_length=1)
    comment: str = Field(min_length=1)
    requested_by: str = Field(min_length=1)
    requested_at: AwareDatetime

    @classmethod
    def of(cls, **values: Any) -> Action:
        """The action, or `OpsActionError` naming what is wrong (never the values)."""
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
            raise OpsActionError(f"ops action refused: {problems}") from None


@dataclass(frozen=True)
class Applied:
    """What an action did: its counts, and whether this run applied it (False: a re-run found
    it applied already)."""

    kind: str
    result: dict[str, int]
    applied_now: bool


def apply(engine: Engine, config: Config, action_id: str, action: Action) -> Applied:
    """Apply ``action`` as ``action_id`` (the dag run's id) in one transaction, recorded in
    ``aftercare.ops_actions``; once only, whatever the retries."""
    params = _params(config, action)
    record = {
        "action_id": action_id,
        "kind": action.kind,
        "target": action.target,
        "comment": action.comment,
        "requested_by": action.requested_by,
        "requested_at": action.requested_at.isoformat(),
    }
    with warehouse.transaction(engine) as conn:
        if not warehouse.execute_file(conn, "ops/actions/claim.sql", record):
            [done] = warehouse.query_file(conn, "ops/actions/recorded.sql", record)
            if (done["kind"], done["target"]) != (action.kind, action.target):
                raise OpsActionError(
                    f"ops action {action_id!r} was recorded as {done['kind']} {done['target']!r}"
                    f", not {action.kind} {action.target!r}"
                )
            log.info("ops action %s (%s) was applied already", action_id, action.kind)
            return Applied(action.kind, json.loads(done["result"]), applied_now=False)
        rows = warehouse.execute_file(conn, f"ops/actions/{action.kind}.sql", {**record, **params})
        result = {"rows": rows}
        warehouse.execute_file(
            conn,
            "ops/actions/record_result.sql",
            {"action_id": action_id, "result": warehouse.to_json(result)},
        )
    log.info("ops action %s: %s applied, %d rows", action_id, action.kind, rows)
    return Applied(action.kind, result, applied_now=True)


def _params(config: Config, action: Action) -> dict[str, str | None]:
    """The bound parameters the action's SQL takes from its target; `OpsActionError` for a
    target its kind cannot take."""
    if action.kind in ("pause", "resume"):
        if action.target not in config.planning.milestones:
            raise OpsActionError(
                f"ops action {action.kind}: unknown milestone {action.target!r}; the milestones "
                f"are {', '.join(sorted(config.planning.milestones))}"
            )
        return {"milestone": action.target}
    none: dict[str, str | None] = dict.fromkeys(
        ("entity", "record_id", "load_id", "expectation", "column")
    )
    if record := _RECORD.match(action.target):
        entity, record_id, load_id = record.groups()
        return {**none, "entity": entity, "record_id": record_id, "load_id": load_id}
    if reason := _REASON.match(action.target):
        expectation, column = reason.groups()
        return {**none, "expectation": expectation, "column": column}
    raise OpsActionError(
        f"ops action rejudge: bad target {action.target!r}; expected "
        "'record:<placement|candidate>/<record_id>/<load_id>' or "
        "'reason:<expectation>[/<column>]'"
    )
