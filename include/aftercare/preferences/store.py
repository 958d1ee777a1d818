"""The preferences service's own event store: one SQLite file in WAL mode with
``synchronous=FULL``, so an event is on disk (its commit fsynced) before the candidate is told
"done", and survives a crash of the service. Each event has a unique key: an opt-out is one per
candidate and channel, a referral click one per touchpoint (or candidate), so a second POST or
click records nothing new. ``seq`` orders the events for the feed the warehouse reads."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
create table if not exists events (
    seq integer primary key autoincrement,
    event_key text not null unique,
    kind text not null check (kind in ('opt_out', 'referral_click', 'video')),
    candidate_id integer not null,
    channel text check (channel in ('email', 'sms', 'all', 'marketing')),
    touchpoint_id text,
    reference text,
    source text not null,
    occurred_at text not null,
    detail text
)
"""
COLUMNS = (
    "seq",
    "event_key",
    "kind",
    "candidate_id",
    "channel",
    "touchpoint_id",
    "reference",
    "source",
    "occurred_at",
    "detail",
)
SELECT = (
    "select seq, event_key, kind, candidate_id, channel, touchpoint_id, reference, source,"
    " occurred_at, detail from events"
)
#: the channels a candidate may stop on the page (``all``: every message)
CHOICES = ("email", "sms", "all", "marketing")


class Store:
    """The event store at ``path`` (made with its folder when missing). One connection shared
    by the server's threads under a lock: SQLite has one writer at a time anyway."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("pragma journal_mode=wal")
            self._db.execute("pragma synchronous=full")
            self._db.execute(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _record(self, key: str, values: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """The event of ``key``, inserted and committed unless it is there already; whether
        it is new."""
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        with self._lock:
            self._db.execute("begin immediate")
            try:
                cursor = self._db.execute(
                    "insert into events (event_key, kind, candidate_id, channel, touchpoint_id,"
                    " reference, source, occurred_at, detail)"
                    " values (:key, :kind, :candidate_id, :channel, :touchpoint_id, :reference,"
                    " :source, :now, :detail) on conflict (event_key) do nothing",
                    {"key": key, "now": now, "detail": None, **values},
                )
                row = self._db.execute(f"{SELECT} where event_key = ?", (key,)).fetchone()
                self._db.execute("commit")
            except BaseException:
                self._db.execute("rollback")
                raise
        return cursor.rowcount == 1, dict(zip(COLUMNS, row, strict=True))

    def opt_out(
        self, candidate_id: int, channel: str, touchpoint_id: str | None, source: str
    ) -> bool:
        """Record that ``candidate_id`` stops ``channel`` (``source``: ``page`` or
        ``one_click``); False when it was recorded before."""
        if channel not in CHOICES:
            raise ValueError(f"channel {channel!r} is not one of {CHOICES}")
        new, _ = self._record(
            f"opt_out:{candidate_id}:{channel}",
            {
                "kind": "opt_out",
                "candidate_id": candidate_id,
                "channel": channel,
                "touchpoint_id": touchpoint_id,
                "reference": None,
                "source": source,
            },
        )
        return new

    def referral_click(self, candidate_id: int, touchpoint_id: str | None) -> str:
        """Record a click on a referral link; the opaque reference of its first click."""
        _, row = self._record(
            f"referral_click:{touchpoint_id or f'candidate:{candidate_id}'}",
            {
                "kind": "referral_click",
                "candidate_id": candidate_id,
                "channel": None,
                "touchpoint_id": touchpoint_id,
                "reference": secrets.token_urlsafe(12),
                "source": "link",
            },
        )
        return row["reference"]

    def video_event(
        self,
        touchpoint_id: str,
        candidate_id: int | None,
        event: str,
        source: str,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        """Record a video event of a touchpoint once (``source``: page, sendspark); False when
        it was recorded before."""
        new, _ = self._record(
            f"video:{touchpoint_id}:{event}",
            {
                "kind": "video",
                "candidate_id": candidate_id,
                "channel": None,
                "touchpoint_id": touchpoint_id,
                "reference": None,
                "source": source,
                "detail": json.dumps(detail) if detail is not None else None,
            },
        )
        return new

    def events(self, after: int, limit: int) -> list[dict[str, Any]]:
        """The events after ``seq`` ``after``, in order, at most ``limit``."""
        with self._lock:
            rows = self._db.execute(
                f"{SELECT} where seq > ? order by seq limit ?",
                (after, limit),
            ).fetchall()
        found = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
        for event in found:
            event["detail"] = json.loads(event["detail"]) if event["detail"] else None
        return found
