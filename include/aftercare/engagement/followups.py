"""Actions in the ATS, each made once: the follow-ups responses ask for (a recruiter call task
after a negative reply: the placement's owner calls the candidate; a note on the candidate after
an availability answer), when ``engagement.ats_notes`` is on, a note on the candidate for each
touchpoint sent (milestone, channel and time, never the message), so the recruiter sees on the
record what went out, and, when ``preferences.ats_write_back`` is on, each opt-out from email the
preferences service recorded set as the candidate's ``massMailOptOut`` (setting it twice changes
nothing, so it needs no look-up).

Made from the warehouse's list of what is not yet made (``engagement.actions``); the ATS has no
idempotency key, so each is looked up by the response or touchpoint id it carries before it is
created, and recorded in ``engagement.actions`` at once."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from aftercare import warehouse
from aftercare.ats.base import Ats, AtsError, RecruiterTask
from aftercare.config import Config

log = logging.getLogger(__name__)

#: Bullhorn's Note action for an availability answer (a picklist value of the agency's)
NOTE_ACTION = "Availability"


def follow_up(engine: Engine, config: Config, ats: Ats, now: datetime) -> Counter[str]:
    """Make what is not yet made; counts by action and outcome (``notes_made``,
    ``touchpoint_notes_found``, ``call_tasks_retry``, ...)."""
    notes = config.engagement.ats_notes
    since = now - timedelta(days=notes.reach_back_days) if notes.enabled else None
    counts: Counter[str] = Counter()
    with warehouse.transaction(engine) as conn:
        pending = warehouse.query_file(
            conn,
            "engagement/pending_actions.sql",
            {"notes_since": since, "opt_outs_to_ats": config.preferences.ats_write_back},
        )
    for item in pending:
        reason = None
        try:
            ats_id, found = _make(ats, item, config)
        except AtsError as exc:
            if exc.status in (401, 403):  # our credentials: every action would fail
                raise
            if exc.status is None or exc.status >= 500:  # may have been made: looked up next run
                log.warning("%s for %s: %s; next run", item["action"], item["source_id"], exc)
                counts[f"{item['action']}s_retry"] += 1
                continue
            # refused for good (the candidate gone from the ATS, say): recorded, so it does not
            # stand in front of the others at every run
            ats_id, found, reason = None, False, f"ats_{exc.status}"
        with warehouse.transaction(engine) as conn:
            warehouse.execute_file(
                conn,
                "engagement/record_action.sql",
                {
                    "source_id": item["source_id"],
                    "action": item["action"],
                    "ats_id": ats_id,
                    "failed_reason": reason,
                },
            )
        outcome = "refused" if reason else "found" if found else "made"
        counts[f"{item['action']}s_{outcome}"] += 1
    log.info("ATS actions: %s", dict(counts))
    return counts


def _make(ats: Ats, item: dict[str, Any], config: Config) -> tuple[int, bool]:
    """The action's id in the ATS, and whether it was there already (found by its marker)."""
    action = item["action"]
    if action == "mass_mail_opt_out":
        return ats.opt_out_of_mass_mail(int(item["candidate_id"])), False
    if action == "touchpoint_note":
        # closed by a full stop: the id of the 1st occurrence is the start of the 10th's
        marker = f"aftercare touchpoint: {item['source_id']}."
    else:
        marker = f"aftercare response: {item['source_id']}"
    hits = (ats.find_tasks if action == "call_task" else ats.find_notes)(marker)
    # the ATS matches text anywhere: only a record with the marker as a line of its own is ours
    found = [
        hit
        for hit in hits
        if marker in (hit.get("description") or hit.get("comments") or "").splitlines()
    ]
    if found:
        return int(found[0]["id"]), True
    if action == "call_task":
        return ats.create_task(_call(item, marker)), False
    if action == "note":
        comments, note_action = f"Availability check answered {item['answer']!s}.", NOTE_ACTION
    else:
        zone, notes = config.agency.time_zone, config.engagement.ats_notes
        comments, note_action = _sent(item, zone), notes.action
    return ats.create_note(int(item["candidate_id"]), f"{comments}\n\n{marker}", note_action), False


def _sent(touchpoint: dict[str, Any], zone: str) -> str:
    """What a touchpoint's note says: its milestone, channel and local send time."""
    at = touchpoint["occurred_at"].astimezone(ZoneInfo(zone))
    milestone = touchpoint["milestone"].replace("_", " ")
    return (
        f"Aftercare sent the {milestone} message by {touchpoint['channel']}"
        f" on {at:%d %b %Y} at {at:%H:%M} ({zone})."
    )


def _call(response: dict[str, Any], marker: str) -> RecruiterTask:
    return RecruiterTask(
        subject="Call back: a candidate replied they are not doing well",
        description=(
            f"The candidate answered the {response['milestone']} message negatively. "
            "Call them: listen, and see what the agency can do.\n\n"
            f"In reply to touchpoint {response['touchpoint_id']}.\n{marker}"
        ),
        candidate_id=int(response["candidate_id"]),
        owner_id=int(response["owner_id"]),
        placement_id=int(response["placement_id"]),
        due=response["occurred_at"] + timedelta(hours=4),
    )
