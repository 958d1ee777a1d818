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
from aftercare.ats.base import RecruiterTask

log = logging.getLogger(__name__)

#: Bullhorn's Note action for an availability answer (a picklist value of the agency's)
NOTE_ACTION = "Availability"


def follow_up(engine: Engine, ats: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    with warehouse.transaction(engine) as conn:
        pending = warehouse.query_file(conn, "engagement/pending_actions.sql")
    for response in pending:
        marker = f"aftercare response: {response['response_id']}"
        if response["action"] == "note":
            found = ats.find_notes(marker)
            ats_id = (
                found[0]["id"]
                if found
                else ats.create_note(
                    int(response["candidate_id"]),
                    f"Availability check answered {response['answer']!s}.\n\n{marker}",
                    NOTE_ACTION,
                )
            )
        else:
            found = ats.find_tasks(marker)
            ats_id = found[0]["id"] if found else ats.create_task(_call(response, marker))
        with warehouse.transaction(engine) as conn:
            warehouse.execute_file(
                conn,
                "engagement/record_action.sql",
                {
                    "response_id": response["response_id"],
                    "action": response["action"],
                    "ats_id": ats_id,
                },
            )
        counts[f"{response['action']}s_made" if not found else f"{response['action']}s_found"] += 1
    log.info("follow-ups: %s", dict(counts))
    return counts


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
