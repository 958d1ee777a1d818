"""Follow-ups in the ATS for responses that ask for one, each made once: a recruiter call task
after a negative reply (the placement's owner calls the candidate), a note on the candidate
after an availability answer (so the recruiter sees it on the record).

Made from the warehouse's list of responses without a follow-up (``engagement.actions``); the
ATS has no idempotency key, so each is looked up by the response id it carries before it is
created, and recorded in ``engagement.actions`` at once."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from aftercare import warehouse
from aftercare.ats.base import AtsError, RecruiterTask

log = logging.getLogger(__name__)

#: Bullhorn's Note action for an availability answer (a picklist value of the agency's)
NOTE_ACTION = "Availability"


def follow_up(engine: Engine, ats: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    with warehouse.transaction(engine) as conn:
        pending = warehouse.query_file(conn, "engagement/pending_actions.sql")
    for response in pending:
        reason = None
        try:
            ats_id, found = _make(ats, response)
        except AtsError as exc:
            if exc.status in (401, 403):  # our credentials: every follow-up would fail
                raise
            if exc.status is None or exc.status >= 500:  # may have been made: looked up next run
                log.warning("follow-up for %s: %s; next run", response["response_id"], exc)
                counts[f"{response['action']}s_retry"] += 1
                continue
            # refused for good (the candidate gone from the ATS, say): recorded, so it does not
            # stand in front of the others at every run
            ats_id, found, reason = None, False, f"ats_{exc.status}"
        with warehouse.transaction(engine) as conn:
            warehouse.execute_file(
                conn,
                "engagement/record_action.sql",
                {
                    "response_id": response["response_id"],
                    "action": response["action"],
                    "ats_id": ats_id,
                    "failed_reason": reason,
                },
            )
        outcome = "refused" if reason else "found" if found else "made"
        counts[f"{response['action']}s_{outcome}"] += 1
    log.info("follow-ups: %s", dict(counts))
    return counts


def _make(ats: Any, response: dict[str, Any]) -> tuple[int, bool]:
    """The follow-up's id in the ATS, and whether it was there already."""
    marker = f"aftercare response: {response['response_id']}"
    if response["action"] == "note":
        found = ats.find_notes(marker)
        if found:
            return int(found[0]["id"]), True
        comments = f"Availability check answered {response['answer']!s}.\n\n{marker}"
        return ats.create_note(int(response["candidate_id"]), comments, NOTE_ACTION), False
    found = ats.find_tasks(marker)
    if found:
        return int(found[0]["id"]), True
    return ats.create_task(_call(response, marker)), False


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
