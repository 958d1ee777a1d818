"""The plan stage: milestone cohorts in SQL into the touchpoint ledger.

A run plans one local date D (the run's business date, never the wall clock). In one
transaction, the stages of ``sql/cohorts/propose/`` (``PROPOSE``, in order, each into temporary
tables: the settings, what changed, the occurrences, their eligibility, the frequency cap, the
proposals) decide every occurrence that concerns D into the temporary table ``plan_proposals``
(due and open: planned with its ``send_at``; missed within the look-back: expired; every reason
not to send; and the ledger's planned rows no longer due, cancelled: ``DECISIONS``), and
``apply_plan.sql`` brings the ledger
``aftercare.touchpoints`` to it: new occurrences are inserted, planned rows are decided again
(replanned, cancelled, suppressed, expired), sent and other final rows never change, and once
a later date is planned a run for an earlier one (a backfill) writes nothing. The milestones
are config only (``planning.milestones``), passed to the SQL as bound json parameters.

After a run with the same settings and planning SQL (``RULES``), a run looks again only at what
can have changed since: the occurrences falling due after that run's date, the subjects staged
since it saw staging, and the ledger's planned rows (every other occurrence in reach is decided
already). The first run, a run with other settings or SQL, and a full refresh decide everything
in reach.

`preview` runs the same for the next days in a transaction it rolls back, treating each day's
planned touchpoints as sent, and reports what would be planned, by milestone, channel and
reason: nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from aftercare import SQL_DIR, warehouse
from aftercare.config import Config

log = logging.getLogger(__name__)


#: the stages that decide a run's proposals, run in this order (sql/cohorts/propose/)
PROPOSE = tuple(
    f"cohorts/propose/{stage}.sql"
    for stage in ("settings", "changed", "occurrences", "eligibility", "cap", "proposals")
)

#: the SQL whose rules decide: a run with other rules (a new release) decides everything again
RULES = (*PROPOSE, "macros.sql")

#: Every status and reason a plan run can decide (the ledger's contract; dispatch then turns
#: planned rows into sent, failed, suppressed or expired with reasons of its own). The run
#: summary counts each as ``touchpoints_<status>[_<reason>]``; `aftercare.coverage` reports
#: the ones a range of nights never reached.
DECISIONS = (
    ("planned", None),
    ("expired", "missed_window"),
    ("expired", "milestone_paused"),
    ("suppressed", "quarantined"),
    ("suppressed", "candidate_removed"),
    ("suppressed", "recently_sent"),
    ("suppressed", "negative_reply"),
    ("suppressed", "marketing_opt_out"),
    ("suppressed", "no_eligible_channel"),
    ("suppressed", "frequency_cap"),
    ("cancelled", "next_placement"),
    ("cancelled", "placement_changed"),
    ("cancelled", "placement_ended"),
)


#: The decisions only someone acting outside the ATS brings about: an operator (a milestone
#: paused in the ops console) or a candidate (stop marketing, on the preferences service's page).
#: No night of the ATS's data reaches them by itself, so coverage does not hold nights to them;
#: their rules are tested where those actions are (tests/test_ops_actions.py, test_purpose.py).
OUTSIDE_DECISIONS = frozenset(
    {("expired", "milestone_paused"), ("suppressed", "marketing_opt_out")}
)


def decision_key(status: str, reason: str | None) -> str:
    """A decision's name in the run summary: ``touchpoints_<status>[_<reason>]``."""
    return f"touchpoints_{status}" + (f"_{reason}" if reason else "")


def _params(config: Config, plan_date: date) -> dict[str, Any]:
    """The bound parameters of the run for ``plan_date``: the date and the planning settings
    (and a digest of them and of the rules, so the next run knows whether it runs with the
    same)."""
    planning = config.planning
    rank = {name: position for position, name in enumerate(planning.priority)}
    milestones = [
        {
            "name": name,
            **milestone.model_dump(
                mode="json", exclude={"channels", "employment_classes", "send_time"}
            ),
            "send_time": milestone.send_time.isoformat(),
            "priority": rank.get(name, len(rank)),
        }
        for name, milestone in planning.milestones.items()
    ]
    channels = [
        {"milestone": name, "channel": channel, "rank": position}
        for name, milestone in planning.milestones.items()
        for position, channel in enumerate(milestone.channels)
    ]
    classes = [
        {"milestone": name, "class": employment_class}
        for name, milestone in planning.milestones.items()
        for employment_class in milestone.employment_classes
    ]
    settings = {
        "look_back": planning.look_back_days,
        "zone": config.agency.time_zone,
        "per_day": planning.frequency_cap.per_day,
        "per_7_days": planning.frequency_cap.per_7_days,
        "milestones": json.dumps(milestones),
        "channels": json.dumps(channels),
        "classes": json.dumps(classes),
    }
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for name in RULES:
        digest.update((SQL_DIR / name).read_bytes())
    return {"plan_date": plan_date.isoformat(), "config_digest": digest.hexdigest(), **settings}


def _decide(
    conn: Connection, config: Config, plan_date: date, *, everything: bool = False
) -> list[dict[str, Any]]:
    """Decide ``plan_date`` into the ledger (inside the caller's transaction); returns the
    decisions counted by milestone, channel, status and reason. Only what can have changed
    since the latest run is looked at again, unless there is none, it ran with other settings
    or SQL or for a later date, or ``everything`` is asked for."""
    params = _params(config, plan_date)
    # before anything reads staging: what loads after this instant is new to the next run
    [snapshot] = warehouse.query_file(conn, "cohorts/snapshot_start.sql")
    params["snapshot_at"] = snapshot["snapshot_at"]
    [previous] = warehouse.query_file(conn, "cohorts/latest_plan_run.sql") or [None]
    if (
        everything
        or previous is None
        or previous["snapshot_at"] is None
        or previous["config_digest"] != params["config_digest"]
        or previous["latest"] > plan_date
    ):
        previous = None
    params["since"] = None if previous is None else previous["snapshot_at"]
    params["last_plan_date"] = None if previous is None else previous["latest"].isoformat()
    log.info(
        "plan %s: deciding %s",
        plan_date,
        "everything in reach" if previous is None else f"what changed since {previous['latest']}",
    )
    warehouse.execute_file(conn, "cohorts/reset_proposals.sql")
    for stage in PROPOSE:
        warehouse.execute_file(conn, stage, params)
    decisions = warehouse.query_file(conn, "cohorts/proposal_counts.sql")
    warehouse.execute_file(conn, "cohorts/apply_plan.sql", params)
    warehouse.execute_file(conn, "cohorts/record_plan_run.sql", params)
    return decisions


def plan(
    engine: Engine, config: Config, plan_date: date, *, everything: bool = False
) -> dict[str, int]:
    """Plan local date ``plan_date``; returns the run's decisions counted by status (and
    reason), for the run summary. Once a later date is planned, an earlier one (a backfill)
    changes nothing: the later run already decided everything still open. ``everything``
    looks at every subject in reach again, not only what changed since the last run."""
    with warehouse.transaction(engine) as conn:
        latest = warehouse.query_file(conn, "cohorts/latest_plan_run.sql")
        if latest and latest[0]["latest"] > plan_date:
            log.info(
                "plan %s: %s is planned already, nothing to do", plan_date, latest[0]["latest"]
            )
            return {}
        decisions = _decide(conn, config, plan_date, everything=everything)
    counts: Counter[str] = Counter()
    for row in decisions:
        counts[decision_key(row["status"], row["reason"])] += int(row["touchpoints"])
    log.info("plan %s: %s", plan_date, dict(counts))
    return dict(counts)


def _ahead(
    engine: Engine,
    config: Config,
    first_day: date,
    days: int,
    read: Callable[[Connection, date, list[dict[str, Any]]], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Plan ``days`` days from ``first_day`` one after another (each day's touchpoints going
    out, as dispatch would send them), what ``read`` finds after each day's plan (given the
    day's decisions), the warehouse left as it was."""
    rows = []
    with engine.connect() as conn, conn.begin() as transaction:
        try:
            for offset in range(days):
                day = first_day + timedelta(days=offset)
                rows += read(conn, day, _decide(conn, config, day))
                warehouse.execute_file(conn, "cohorts/preview_send.sql", {"plan_date": day})
        finally:
            transaction.rollback()
    return rows


def preview(engine: Engine, config: Config, first_day: date, days: int) -> list[dict[str, Any]]:
    """What planning ``days`` days from ``first_day`` would decide, one row per day,
    milestone, channel, status and reason; the warehouse is left as it was."""
    return _ahead(
        engine, config, first_day, days, lambda _, day, rows: [{"day": day, **r} for r in rows]
    )


def upcoming(
    engine: Engine,
    config: Config,
    first_day: date,
    days: int,
    read: Callable[[Connection], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """What ``read`` finds in the ledger after planning each of ``days`` days from
    ``first_day`` (the touchpoints to come: a Sendspark render is asked for days ahead); the
    warehouse is left as it was."""
    return _ahead(engine, config, first_day, days, lambda conn, _, __: read(conn))


def format_preview(rows: list[dict[str, Any]]) -> str:
    """The preview as a text table: one line per day, milestone, channel, status and reason."""
    header = f"{'day':<10}  {'milestone':<20} {'channel':<7} {'decision':<36} {'count':>7}"
    lines = [header, "-" * len(header)]
    for row in rows:
        decision = row["status"] + (f" ({row['reason']})" if row["reason"] else "")
        lines.append(
            f"{row['day']!s:<10}  {row['milestone']:<20} {row['channel'] or '-':<7} "
            f"{decision:<36} {row['touchpoints']:>7}"
        )
    if not rows:
        lines.append("(nothing due)")
    return "\n".join(lines)
