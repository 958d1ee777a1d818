"""The warehouse side of dispatch: batch the due touchpoints, fold the journals back.

`prepare` first folds every journal not yet folded (a crashed earlier run's included), then,
at the clock's instant, expires what can no longer go out (window passed, not in doubt) and
writes the due touchpoints into batch files per channel under the staging root, recording them
in ``aftercare.dispatch_batches`` / ``_items`` (in flight from then on: no later batch takes
them until their journal is folded). `fold` seals each batch (its send task, if cleared later,
refuses to run; a try still sending stops at its next touchpoint), waits for the batch's claim
(`journal.claim`: no try may journal any more), reads the journal, brings the ledger to what
it says in bulk, and deletes the batch and journal files (they hold addresses; the ledger now
holds what matters).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from aftercare import warehouse
from aftercare.config import Config
from aftercare.dispatch import journal as journals
from aftercare.dispatch.journal import BatchItem
from aftercare.names import CHANNELS

if TYPE_CHECKING:
    from upath import UPath

#: A location under the staging root (a URL, or a folder of the project) as a path: in a task,
#: `aftercare.connections.staging_path`.
Staging = Callable[[str], "UPath"]

log = logging.getLogger(__name__)


def fold(engine: Engine, config: Config, staging: Staging) -> Counter[str]:
    """Fold every journal not yet folded into the ledger; returns counts by outcome. A batch
    a try still holds (a try orphaned by its supervisor's death, say) is sealed, so that try
    stops at its next touchpoint, and folded once it has let go: never while it may still
    journal. One it keeps past ``dispatch.claim_wait_seconds`` is left to a later fold."""

    totals: Counter[str] = Counter()
    with warehouse.transaction(engine) as conn:
        pending = warehouse.query_file(conn, "dispatch/pending_batches.sql")
    folded = 0
    for batch in pending:
        path = staging(batch["path"])
        journals.seal(path)  # first: a send task cleared after this must not run again
        try:
            with journals.claim(path, config.dispatch.claim_wait_seconds):
                totals.update(_fold_one(engine, batch, path))
                folded += 1
        except journals.BatchClaimed:
            log.warning("batch %s: a try still sends it; a later run folds it", path.name)
    if pending:
        log.info("folded %d batch journals into the ledger: %s", folded, dict(totals))
    return totals


def _fold_one(engine: Engine, batch: dict[str, Any], path: UPath) -> Counter[str]:
    """One sealed batch, its claim held: its journal into the ledger, its files deleted."""
    outcomes = [
        _outcome(touchpoint_id, entry)
        for touchpoint_id, entry in journals.read_journal(journals.journal_path(path)).items()
        if entry.attempted or entry.outcome  # links made but never tried: still planned
    ]
    counts = Counter(o["outcome"] for o in outcomes)
    with warehouse.transaction(engine) as conn:
        if outcomes:
            warehouse.execute_file(
                conn,
                "dispatch/fold_outcomes.sql",
                {"outcomes": json.dumps(outcomes), "batch_id": batch["batch_id"]},
            )
        warehouse.execute_file(
            conn,
            "dispatch/mark_recorded.sql",
            {"batch_id": batch["batch_id"], "outcomes": json.dumps(dict(counts))},
        )
    journals.discard(path)
    return counts


def _outcome(touchpoint_id: str, entry: journals.Entry) -> dict[str, Any]:
    """One touchpoint's row for fold_outcomes.sql: its outcome, or in doubt when it was tried
    without an answer. An ``attempt`` key only when there was one (json null would erase the
    ledger's)."""
    record = entry.outcome or {"outcome": "in_doubt"}
    row = {
        "touchpoint_id": touchpoint_id,
        "candidate_id": record.get("candidate_id"),
        "outcome": record["outcome"],
        "reason": record.get("reason"),
        "provider_message_id": record.get("provider_message_id"),
        "at": record.get("at"),
    }
    return {**row, "attempt": entry.attempt} if entry.attempt else row


def _batch_size(config: Config, total: int) -> int:
    """The configured size, grown so the batches of all channels stay within max_batches."""
    spare = config.dispatch.max_batches - len(CHANNELS)  # each channel's last batch may be short
    return max(config.dispatch.batch_size, math.ceil(total / spare))


def _chunks(items: list[BatchItem], size: int) -> Iterator[list[BatchItem]]:
    """``items`` in batches of about ``size``, a lane (`journal.lane`) never split."""
    lanes: dict[str, list[BatchItem]] = defaultdict(list)
    for item in items:
        lanes[journals.lane(item)].append(item)
    chunk: list[BatchItem] = []
    for items_of_lane in lanes.values():
        if chunk and len(chunk) + len(items_of_lane) > size:
            yield chunk
            chunk = []
        chunk += items_of_lane
    if chunk:
        yield chunk


def _run_key(run_id: str, try_number: int) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', run_id)}-try{try_number}"


def prepare(
    engine: Engine,
    config: Config,
    now: datetime,
    staging: Staging,
    *,
    run_id: str,
    try_number: int,
    dry_run: bool,
) -> tuple[dict[str, list[dict[str, Any]]], Counter[str]]:
    """Batch what is due at ``now``; returns the batch descriptors per channel (the send
    tasks' kwargs) and counts for the log. The batch files go under the staging root."""
    counts = Counter({f"folded_{k}": v for k, v in fold(engine, config, staging).items()})
    params = {
        "now": now.isoformat(),
        "zone": config.agency.time_zone,
        "quiet_start": config.planning.quiet_hours_start.isoformat(),
        "quiet_end": config.planning.quiet_hours_end.isoformat(),
    }
    with warehouse.transaction(engine) as conn:
        if not dry_run:
            counts["closed"] = warehouse.execute_file(conn, "dispatch/close_overdue.sql", params)
        marketing = [
            name for name, m in config.planning.milestones.items() if m.purpose == "marketing"
        ]
        rows = warehouse.query_file(
            conn, "dispatch/due.sql", {**params, "marketing": json.dumps(marketing)}
        )
    due: dict[str, list[BatchItem]] = defaultdict(list)
    for row in rows:
        if row["route"] is None:
            counts["held_consent"] += 1
        elif row["quiet"]:
            counts["held_quiet_hours"] += 1
        else:
            due[row["channel"]].append(BatchItem.from_record(row))
    size = _batch_size(config, sum(len(v) for v in due.values()))
    root = staging(config.dispatch.staging_root) / "dispatch" / _run_key(run_id, try_number)
    batches: dict[str, list[dict[str, Any]]] = {channel: [] for channel in CHANNELS}
    items = []
    for channel, items_of_channel in due.items():
        for number, chunk in enumerate(_chunks(items_of_channel, size), start=1):
            batch_id = f"{root.name}/{channel}-{number:04d}"
            path = root / f"{channel}-{number:04d}.jsonl"
            journals.write_batch(path, chunk)
            batches[channel].append(
                {
                    "batch_id": batch_id,
                    "channel": channel,
                    "path": str(path),
                    "count": len(chunk),
                    "dry_run": dry_run,
                }
            )
            items += [{"batch_id": batch_id, "touchpoint_id": i.touchpoint_id} for i in chunk]
            counts[f"batched_{channel}"] += len(chunk)
    every = [b for channel in CHANNELS for b in batches[channel]]
    if every:
        with warehouse.transaction(engine) as conn:
            warehouse.execute_file(
                conn,
                "dispatch/record_batches.sql",
                {
                    "batches": json.dumps(every),
                    "items": json.dumps(items),
                    "run_id": run_id,
                    "dry_run": dry_run,
                },
            )
    counts["batches"] = len(every)
    log.info("dispatch at %s: %s", now.isoformat(), dict(counts))
    return batches, counts
