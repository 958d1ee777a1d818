"""The preferences service's own event store: one SQLite file in WAL mode with
``synchronous=FULL``, so an event is on disk (its commit fsynced) before the candidate is told
"done", and survives a crash of the service. Each event has a unique key: an opt-out is one per
candidate and channel, a referral click one per touchpoint (or candidate), a video event one per
touchpoint and event name, so a second POST or click records nothing new. ``seq`` orders the
events for the feed the warehouse reads.

It also holds the personalised video pages dispatch registers (``video_pages``, one per
touchpoint: the only table with names in it; erased and kept for their time through the
service, `aftercare.privacy`, and with them the share links Sendspark's webhooks gave).

The schema's version is SQLite's ``user_version``: a store of version 1 (opt-outs and referral
clicks only) is brought to version 2 when the service opens it.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EVENTS = """
create table if not exists events (
    seq integer primary key autoincrement,
    event_key text not null unique,
    kind text not null check (kind in ('opt_out', 'referral_click', 'video')),
    candidate_id integer,
    channel text check (channel in ('email', 'sms', 'all', 'marketing')),
    touchpoint_id text,
    reference text,
    source text not null,
    occurred_at text not null,
    event text,
    detail text,
    check (kind = 'video' or candidate_id is not null)
)
"""
VIDEO_PAGES = """
create table if not exists video_pages (
    touchpoint_id text primary key,
    candidate_id integer not null,
    milestone text not null,
    first_name text not null,
    job_title text not null,
    company text not null,
    recruiter_name text not null,
    recording text not null,
    kind text not null check (kind in ('file', 'embed')),
    poster text,
    cta_kind text check (cta_kind in ('review', 'referral')),
    cta_url text,
    registered_at text not null
)
"""
#: the schema's version (``pragma user_version``)
VERSION = 2
#: version 1's events (no video kind, candidate always known, no event or detail), copied
_FROM_V1 = (
    "insert into events (seq, event_key, kind, candidate_id, channel, touchpoint_id, reference,"
    " source, occurred_at) select seq, event_key, kind, candidate_id, channel, touchpoint_id,"
    " reference, source, occurred_at from events_v1"
)
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
    "event",
    "detail",
)
SELECT = (
    "select seq, event_key, kind, candidate_id, channel, touchpoint_id, reference, source,"
    " occurred_at, event, detail from events"
)
_REGISTER = (
    "insert into video_pages (touchpoint_id, candidate_id, milestone, first_name, job_title,"
    " company, recruiter_name, recording, kind, poster, cta_kind, cta_url, registered_at)"
    " values (:touchpoint_id, :candidate_id, :milestone, :first_name, :job_title, :company,"
    " :recruiter_name, :recording, :kind, :poster, :cta_kind, :cta_url, :now)"
    " on conflict (touchpoint_id) do update set candidate_id = excluded.candidate_id,"
    " milestone = excluded.milestone, first_name = excluded.first_name,"
    " job_title = excluded.job_title, company = excluded.company,"
    " recruiter_name = excluded.recruiter_name, recording = excluded.recording,"
    " kind = excluded.kind, poster = excluded.poster, cta_kind = excluded.cta_kind,"
    " cta_url = excluded.cta_url"
)
_PAGE = (
    "select touchpoint_id, candidate_id, milestone, first_name, job_title, company,"
    " recruiter_name, recording, kind, poster, cta_kind, cta_url from video_pages"
    " where touchpoint_id = ?"
)
PAGE_COLUMNS = (
    "touchpoint_id",
    "candidate_id",
    "milestone",
    "first_name",
    "job_title",
    "company",
    "recruiter_name",
    "recording",
    "kind",
    "poster",
    "cta_kind",
    "cta_url",
)
#: erasure (by candidate) and retention (by age): the pages, then the details of the video
#: events (a platform's share link) of the same candidates, or as old
_FORGET = {
    "candidates": (
        "delete from video_pages where candidate_id = ?",
        "update events set detail = null where kind = 'video' and candidate_id = ?",
    ),
    "age": (
        "delete from video_pages where registered_at < ?",
        "update events set detail = null where kind = 'video' and occurred_at < ?",
    ),
}
#: the channels a candidate may stop on the page (``all``: every message)
CHOICES = ("email", "sms", "all", "marketing")
#: the events of a touchpoint's video: what its page (ours, or a platform's) saw the candidate
#: do, and a platform's render becoming ready or failing (its webhooks)
VIDEO_EVENTS = (
    "page_opened",
    "played",
    "watched_25",
    "watched_50",
    "watched_75",
    "watched_100",
    "cta_clicked",
    "render_ready",
    "render_failed",
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


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
            self._migrate()

    def _migrate(self) -> None:
        """Bring the store to `VERSION` in one transaction (a new store: made at it)."""
        [version] = self._db.execute("pragma user_version").fetchone()
        if version >= VERSION:
            return
        self._db.execute("begin immediate")
        try:
            old = self._db.execute(
                "select 1 from sqlite_master where type = 'table' and name = 'events'"
            ).fetchone()
            if old:  # version 1: its events copied into the new table
                self._db.execute("alter table events rename to events_v1")
            self._db.execute(EVENTS)
            self._db.execute(VIDEO_PAGES)
            if old:
                self._db.execute(_FROM_V1)
                self._db.execute("drop table events_v1")
            self._db.execute(f"pragma user_version = {VERSION}")
            self._db.execute("commit")
        except BaseException:
            self._db.execute("rollback")
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _record(self, key: str, values: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """The event of ``key``, inserted and committed unless it is there already; whether
        it is new."""
        row_values = {"event": None, "detail": None} | values
        with self._lock:
            self._db.execute("begin immediate")
            try:
                cursor = self._db.execute(
                    "insert into events (event_key, kind, candidate_id, channel, touchpoint_id,"
                    " reference, source, occurred_at, event, detail)"
                    " values (:key, :kind, :candidate_id, :channel, :touchpoint_id, :reference,"
                    " :source, :now, :event, :detail) on conflict (event_key) do nothing",
                    {"key": key, "now": _now(), **row_values},
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
        detail: dict | None = None,
    ) -> bool:
        """Record ``event`` of ``touchpoint_id``'s video (``source``: ``page``, our own page;
        ``sendspark``, its webhooks), once per touchpoint and event; False when it was
        recorded before. ``detail``: what else the event says (JSON), ids and links only."""
        if event not in VIDEO_EVENTS:
            raise ValueError(f"video event {event!r} is not one of {VIDEO_EVENTS}")
        new, _ = self._record(
            f"video:{touchpoint_id}:{event}",
            {
                "kind": "video",
                "candidate_id": candidate_id,
                "channel": None,
                "touchpoint_id": touchpoint_id,
                "reference": None,
                "source": source,
                "event": event,
                "detail": None if detail is None else json.dumps(detail),
            },
        )
        return new

    def events(self, after: int, limit: int) -> list[dict[str, Any]]:
        """The events after ``seq`` ``after``, in order, at most ``limit`` (``detail``
        parsed)."""
        with self._lock:
            rows = self._db.execute(
                f"{SELECT} where seq > ? order by seq limit ?",
                (after, limit),
            ).fetchall()
        events = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
        for event in events:
            event["detail"] = None if event["detail"] is None else json.loads(event["detail"])
        return events

    def register_page(self, page: dict[str, Any]) -> bool:
        """Register (or update) the video page of ``page["touchpoint_id"]`` (the
        `PAGE_COLUMNS`): one page per touchpoint whatever the retries; True when it is new."""
        values = {name: page[name] for name in PAGE_COLUMNS}
        with self._lock:
            self._db.execute("begin immediate")
            try:
                known = self._db.execute(
                    "select 1 from video_pages where touchpoint_id = ?", (page["touchpoint_id"],)
                ).fetchone()
                self._db.execute(_REGISTER, {**values, "now": _now()})
                self._db.execute("commit")
            except BaseException:
                self._db.execute("rollback")
                raise
        return known is None

    def page(self, touchpoint_id: str) -> dict[str, Any] | None:
        """The registered video page of ``touchpoint_id``, if any."""
        with self._lock:
            row = self._db.execute(_PAGE, (touchpoint_id,)).fetchone()
        return None if row is None else dict(zip(PAGE_COLUMNS, row, strict=True))

    def forget_pages(
        self, candidate_ids: list[int] | None = None, before: str | None = None
    ) -> int:
        """Delete the video pages of ``candidate_ids`` (erasure) or registered before the
        instant ``before`` (retention), and the details of the same candidates' (or as old)
        video events: a platform's share link leads to a video personalised with the
        candidate's name. How many pages; the events stay (ids, names of events, times)."""
        if (candidate_ids is None) == (before is None):
            raise ValueError("forget pages by candidate ids or by age, one of them")
        if candidate_ids is not None:
            statements, values = _FORGET["candidates"], [(int(i),) for i in candidate_ids]
        else:
            statements, values = _FORGET["age"], [(before,)]
        with self._lock:
            self._db.execute("begin immediate")
            try:
                forgotten = self._db.executemany(statements[0], values).rowcount
                self._db.executemany(statements[1], values)
                self._db.execute("commit")
            except BaseException:
                self._db.execute("rollback")
                raise
        return forgotten
