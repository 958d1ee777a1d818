"""Batch files and their journals under the staging root (a `upath.UPath`: in a task Airflow's
`ObjectStoragePath`, a local folder by default; any store that supports appends).

A batch file holds the touchpoints one send task sends (`BatchItem`s as JSON Lines, written
once by the prepare task). Its journal, beside it, is appended to by the send task and flushed
line by line: ``attempt`` (written *before* the provider is called: the route, the instant, the
links made for the message and the hash of an sms body, so a later look-up asks the right
provider the right question) and ``outcome`` (its answer). A retried task
skips every touchpoint with an outcome; one with an attempt but no outcome may have gone out
(the task was killed mid-call), so it is looked up at the provider before any resend. Links
made but never attempted are simply made again.

A send try holds an exclusive *claim* on its batch for as long as it may send (`claim`): a
second try of the same batch (a scheduler that restarted and reset a task still running, an
operator's clear, a broker's redelivery) waits until the first has stopped, and only then reads
the journal, so it looks up what the first had in flight instead of sending it again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import MISSING, asdict, dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_fixed,
)

if TYPE_CHECKING:
    from upath import UPath

log = logging.getLogger(__name__)

JOURNAL_SUFFIX = ".journal.jsonl"


class BatchClaimed(RuntimeError):
    """Another try (another process, here or on another host) holds the batch."""


@dataclass(frozen=True)
class BatchItem:
    """One due touchpoint in a batch, with what its message needs (a row of
    ``dispatch/due.sql``; its fields are the batch file's JSON keys, instants and days as
    text)."""

    touchpoint_id: str
    milestone: str
    channel: str
    #: email | sms | phone: how it goes out now
    route: str
    #: the candidate's local time was inside the quiet hours when batched
    quiet: bool
    candidate_id: int
    placement_id: int | None
    occurrence: int
    due_date: str
    window_end: str
    send_at: str
    #: an earlier try may have sent it: looked up before any resend
    in_doubt: bool
    #: the ledger's last try ({"route", "at", "links", "to", "body_sha256"}), if any
    attempt: dict[str, Any] | None
    attempts: int
    zone: str
    first_name: str | None
    last_name: str | None
    email: str | None
    mobile: str | None
    phone: str | None
    job_title: str | None
    client_name: str | None
    owner_id: int | None
    #: texts already sent to this number that a look-up must not take for this one
    known_sids: list[str] | None
    #: a video platform's page of the touchpoint, ready before it is due (Sendspark's render);
    #: None: dispatch publishes our own page. Absent from batch files written before it
    video_url: str | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> BatchItem:
        """From a due row or a batch file's line (days and instants as text either way)."""
        return cls(
            **{
                f.name: _text(record[f.name])
                for f in fields(cls)
                if f.name in record or f.default is MISSING
            }
        )


def _text(value: Any) -> Any:
    """Days and instants as the batch file writes them (``str``), anything else as it is."""
    return str(value) if isinstance(value, date | datetime) else value


def lane(item: BatchItem) -> str:
    """The touchpoints that must go out one after another, in one batch: those texted to one
    mobile (two candidate records may share it, and their texts may be identical, so a look-up
    at Twilio can only tell them apart when they were never in doubt at once); any other
    touchpoint is a lane of its own."""
    return f"sms:{item.mobile}" if item.route == "sms" else item.touchpoint_id


def write_batch(path: UPath, items: Iterable[BatchItem]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for item in items:
            out.write(json.dumps(asdict(item), default=str) + "\n")


def read_batch(path: UPath) -> list[BatchItem]:
    with path.open("r") as source:
        return [BatchItem.from_record(json.loads(line)) for line in source if line.strip()]


def journal_path(batch_path: UPath) -> UPath:
    return batch_path.parent / (batch_path.name.removesuffix(".jsonl") + JOURNAL_SUFFIX)


def seal_path(batch_path: UPath) -> UPath:
    return batch_path.parent / (batch_path.name.removesuffix(".jsonl") + ".sealed")


def claim_path(batch_path: UPath) -> UPath:
    return batch_path.parent / (batch_path.name.removesuffix(".jsonl") + ".claim")


@contextmanager
def claim(batch_path: UPath, wait_seconds: float) -> Iterator[None]:
    """Hold the batch exclusively for the block; wait up to ``wait_seconds`` for another try
    that holds it to stop, then raise `BatchClaimed` (the task fails and Airflow retries it).

    The claim is a POSIX record lock (``fcntl.lockf``) on the batch's ``.claim`` file. The
    kernel drops it when the holding process dies, however it dies (``kill -9`` included), so a
    crashed try never blocks the batch. Across hosts it holds where the staging root is a
    network file system with POSIX locks: NFSv4, and NFSv3 with its lock manager (``lockd``);
    there the server drops a dead client's locks when its lease ends (NFSv4: 90 s by
    default). A file system that ignores POSIX locks (NFS mounted ``nolock``, some FUSE
    mounts) gives no claim at all: do not put the staging root on one.
    """
    path = Path(claim_path(batch_path).path)
    with path.open("a") as handle:  # "a": created if missing, never truncated

        def take() -> None:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:  # EACCES or EAGAIN: another process holds it
                raise BatchClaimed(
                    f"batch {batch_path.name} is held by another try; waited {wait_seconds:g} s"
                ) from exc

        def waiting(retry: RetryCallState) -> None:
            if retry.attempt_number == 1:
                log.warning(
                    "batch %s: another try holds it; waiting for it to stop", batch_path.name
                )

        Retrying(
            retry=retry_if_exception_type(BatchClaimed),
            wait=wait_fixed(min(1.0, wait_seconds)),
            stop=stop_after_delay(wait_seconds),
            before_sleep=waiting,
            reraise=True,
        )(take)
        try:
            yield
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)


def seal(batch_path: UPath) -> None:
    """Mark a batch as folded into the ledger: its send task must not run again (its
    touchpoints are back in the ledger's hands)."""
    seal_path(batch_path).write_text("folded into the ledger\n")


def sealed(batch_path: UPath) -> bool:
    return seal_path(batch_path).exists()


def discard(batch_path: UPath) -> None:
    """Delete a folded batch's files (they hold addresses); the seal stays."""
    for path in (batch_path, journal_path(batch_path), claim_path(batch_path)):
        if path.exists():
            path.unlink()


@dataclass
class Entry:
    """What a journal says about one touchpoint: its last attempt ({"route", "at", "links",
    "body_sha256"}) and the outcome after it."""

    attempt: dict[str, Any] | None = None
    outcome: dict[str, Any] | None = None

    @property
    def attempted(self) -> bool:
        return self.attempt is not None

    @property
    def in_doubt(self) -> bool:
        """Tried, no answer recorded: it may have gone out."""
        return self.attempted and self.outcome is None


def read_journal(path: UPath) -> dict[str, Entry]:
    """Each touchpoint's entry; a torn last line (the writer was killed mid-write) is ignored,
    which at worst turns an outcome back into an attempt, i.e. a look-up."""
    entries: dict[str, Entry] = {}
    if not path.exists():
        return entries
    with path.open("r") as source:
        for line in source:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            entry = entries.setdefault(record["touchpoint_id"], Entry())
            if record["kind"] == "attempt":
                entry.attempt, entry.outcome = record["attempt"], None
            elif record["kind"] == "outcome":
                entry.outcome = record
    return entries


class Journal:
    """The append side, shared by a send task's threads: every line is flushed before the
    call it precedes (or the next send) is made."""

    def __init__(self, path: UPath) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file = path.open("a")

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=str) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def attempt(self, touchpoint_id: str, attempt: dict[str, Any]) -> None:
        """Before the provider is called: the message is about to go out, as ``attempt`` says
        (route, instant, links, body hash)."""
        self._write({"touchpoint_id": touchpoint_id, "kind": "attempt", "attempt": attempt})

    def outcome(self, touchpoint_id: str, outcome: str, **detail: Any) -> None:
        self._write(
            {"touchpoint_id": touchpoint_id, "kind": "outcome", "outcome": outcome, **detail}
        )

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
