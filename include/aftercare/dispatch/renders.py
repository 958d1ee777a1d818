"""Sendspark's renders, asked for ahead of the due date (docs/sandbox-providers.md, "Sendspark";
table ``aftercare.video_renders``).

- `request_ahead` (the nightly DAG's ``request_renders``, after the plan): the video touchpoints
  of the milestones whose video has platform sendspark, due within ``render_ahead_days`` (those
  in the ledger, and those the coming nights' plans will add, found by planning them in a
  transaction rolled back: `aftercare.plan.upcoming`), become prospects of their milestone's
  campaign: new ones in bulk requests (one a minute, ``bulk_size`` at most each), recorded
  ``requested`` before each request leaves; those asked for before without an answer are
  looked up by email and added singly only when Sendspark has none (so a lost answer never
  makes a second prospect);
- `record_webhooks` (whenever the candidate-facing service's feed is loaded): render_ready
  makes a render ``ready`` with its share URL, render_failed ``failed``;
- `fall_back` (dispatch, before batching): a touchpoint due whose render is not ready goes out
  through our own page, its render ``fallback`` with the reason; due.sql sends the ready ones
  with their share URL.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine

from aftercare import plan, warehouse
from aftercare.config import Config
from aftercare.providers.base import Ambiguous
from aftercare.providers.sendspark import Prospect, Sendspark

log = logging.getLogger(__name__)

#: the feed's events that concern a render (the others are views: engagement's)
RENDER_EVENTS = ("render_ready", "render_failed")


def campaigns(config: Config) -> dict[str, str]:
    """Milestone -> Sendspark campaign, for the milestones whose video has platform sendspark."""
    return {
        milestone: video.sendspark_campaign
        for milestone, video in config.dispatch.videos.items()
        if video.platform == "sendspark" and video.sendspark_campaign
    }


def _prospect(row: dict[str, Any]) -> Prospect:
    name = " ".join(part for part in (row["first_name"], row["last_name"]) if part)
    return Prospect(
        touchpoint_id=row["touchpoint_id"],
        candidate_id=int(row["candidate_id"]),
        contact_name=name,
        contact_email=row["email"],
        company=row["client_name"] or "",
        job_title=row["job_title"] or "",
    )


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def request_ahead(
    engine: Engine, config: Config, sendspark: Sendspark, now: datetime
) -> Counter[str]:
    """Ask Sendspark for the renders of the video touchpoints due within
    ``render_ahead_days``; counts (requested in bulk, found or added singly, left in doubt)."""
    counts: Counter[str] = Counter()
    by_milestone = campaigns(config)
    if not by_milestone:
        return counts
    days = config.dispatch.sendspark.render_ahead_days
    params = {
        "campaigns": json.dumps(by_milestone),
        "until": (now + timedelta(days=days)).isoformat(),
    }

    def read(conn: Connection) -> list[dict[str, Any]]:
        return warehouse.query_file(conn, "video/to_render.sql", params)

    # what the ledger holds now (tonight's plan), then what the coming nights' plans will add
    with warehouse.transaction(engine) as conn:
        found = {row["touchpoint_id"]: row for row in read(conn)}
    today = now.astimezone(ZoneInfo(config.agency.time_zone)).date()
    for row in plan.upcoming(engine, config, today + timedelta(days=1), days, read):
        found.setdefault(row["touchpoint_id"], row)
    rows = list(found.values())
    in_doubt = [row for row in rows if row["asked"]]
    new: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if not row["asked"]:
            new[row["campaign"]].append(row)
    for row in in_doubt:  # asked for before, no answer: looked up, added only when missing
        found = sendspark.add_prospect(row["campaign"], _prospect(row))
        _record_prospects(engine, [(row, found)], now)
        counts["looked_up"] += 1
    for campaign, rows_of_campaign in new.items():
        for chunk in _chunks(rows_of_campaign, config.dispatch.sendspark.bulk_size):
            _record_requests(engine, chunk, now)  # before the request leaves
            try:
                made = sendspark.add_prospects(campaign, [_prospect(row) for row in chunk])
            except Ambiguous:
                counts["in_doubt"] += len(chunk)  # the next run looks each up
                continue
            # one the answer does not list stays without a prospect id: looked up next run
            listed = [(r, made[r["email"].lower()]) for r in chunk if r["email"].lower() in made]
            _record_prospects(engine, listed, now)
            counts["requested"] += len(chunk)
    log.info("Sendspark renders at %s: %s", now.isoformat(), dict(counts))
    return counts


def _record_requests(engine: Engine, rows: list[dict[str, Any]], now: datetime) -> None:
    renders = [
        {key: row[key] for key in ("touchpoint_id", "candidate_id", "milestone", "campaign")}
        for row in rows
    ]
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn,
            "video/record_requests.sql",
            {"renders": json.dumps(renders), "now": now.isoformat()},
        )


def _record_prospects(
    engine: Engine, found: list[tuple[dict[str, Any], dict[str, Any]]], now: datetime
) -> None:
    prospects = [
        {
            "touchpoint_id": row["touchpoint_id"],
            "prospect_id": prospect.get("id"),
            "share_url": prospect.get("shareUrl")
            if prospect.get("status") == "completed"
            else None,
        }
        for row, prospect in found
    ]
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn,
            "video/record_prospects.sql",
            {"prospects": json.dumps(prospects), "now": now.isoformat()},
        )


def record_webhooks(conn: Connection, events: Iterable[dict[str, Any]]) -> int:
    """The renders the feed's ``render_ready`` / ``render_failed`` events speak of (the
    service recorded them from Sendspark's webhooks), in ``conn``'s transaction; how many
    changed."""
    rows = []
    for event in events:
        name = event["event_key"].rsplit(":", 1)[-1]  # video:{touchpoint_id}:{event}
        if event.get("kind") != "video" or name not in RENDER_EVENTS:
            continue
        detail = event.get("detail") or {}
        detail = json.loads(detail) if isinstance(detail, str) else detail
        rows.append(
            {
                "touchpoint_id": event["touchpoint_id"],
                "event": name,
                "share_url": detail.get("share_url"),
                "at": event["occurred_at"],
            }
        )
    if not rows:
        return 0
    return warehouse.execute_file(conn, "video/record_webhooks.sql", {"events": json.dumps(rows)})


def fall_back(engine: Engine, config: Config, now: datetime) -> Counter[str]:
    """Due touchpoints of sendspark milestones whose render is not ready: recorded as going out
    through our own page, with the reason."""
    by_milestone = campaigns(config)
    if not by_milestone:
        return Counter()
    with warehouse.transaction(engine) as conn:
        fell_back = warehouse.execute_file(
            conn,
            "video/fall_back.sql",
            {"campaigns": json.dumps(by_milestone), "now": now.isoformat()},
        )
    return Counter({"video_fallback": fell_back} if fell_back else {})
