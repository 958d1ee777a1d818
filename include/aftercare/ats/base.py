"""What the pipeline needs from an ATS, independent of the vendor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Entity = Literal["Placement", "Candidate"]


class AtsError(RuntimeError):
    """The ATS refused or failed a call (after retries where they are safe); ``status`` is
    the HTTP status of a refusal (``None``: no answer, or no usable one)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AtsDataError(AtsError):
    """A page came back malformed: not JSON, or without a field we asked for."""

    def __init__(self, entity: str, page: int, detail: str) -> None:
        super().__init__(f"ATS {entity} page {page}: {detail}")
        self.entity, self.page, self.detail = entity, page, detail


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the change feed: rows strictly after (date_last_modified_ms, record_id)."""

    date_last_modified_ms: int
    record_id: int

    def rewound(self, overlap_ms: int) -> Cursor:
        """A cursor ``overlap_ms`` earlier, taking every row at that instant again."""
        return Cursor(max(self.date_last_modified_ms - overlap_ms, -1), -1)


#: Where a first load (or a full refresh) starts: before every row.
ORIGIN = Cursor(-1, -1)


@dataclass(frozen=True)
class Page:
    """One page of changed records, in (dateLastModified, id) order, with the response body it
    came in (a JSON object whose ``data`` are the records: stored as sent, never re-encoded)."""

    entity: str
    number: int  # 1-based within one pull
    records: list[dict[str, Any]]
    body: str = field(repr=False)

    @property
    def end(self) -> Cursor:
        """The position after this page's last row (pages are never empty)."""
        last = self.records[-1]
        return Cursor(int(last["dateLastModified"]), int(last["id"]))


@dataclass(frozen=True)
class FieldMeta:
    """One field as the ATS describes it: its picklist's values (empty: not a picklist) and
    whether it holds several of them (then it arrives as a list)."""

    name: str
    options: tuple[str, ...] = ()
    multi_value: bool = False


@dataclass(frozen=True)
class RecruiterTask:
    """A call task for a recruiter, created in the ATS."""

    subject: str
    description: str
    candidate_id: int
    owner_id: int
    due: datetime
    placement_id: int | None = None
    kind: str = "Follow-Up"
    extra: dict[str, Any] = field(default_factory=dict)


class Ats(Protocol):
    """The ATS as the pipeline sees it. `aftercare.ats.bullhorn.BullhornAts` implements it."""

    def changes(self, entity: Entity, after: Cursor) -> Iterator[Page]:
        """Records of ``entity`` changed after ``after``, page by page, oldest change first."""
        ...

    def placement_ids(self) -> Iterator[list[int]]:
        """Every placement id that exists now, in pages (for the deletion sweep)."""
        ...

    def create_task(self, task: RecruiterTask) -> int:
        """Create a recruiter task; returns its id. Not retried on server errors: look the task
        up (`find_tasks`) before creating it again."""
        ...

    def find_tasks(self, text: str) -> list[dict[str, Any]]:
        """Tasks whose description contains ``text`` (e.g. our touchpoint id)."""
        ...

    def completed_tasks(self, modified_after_ms: int) -> Iterator[Page]:
        """Tasks completed (and so changed) after the instant, page by page."""
        ...

    def create_note(self, candidate_id: int, comments: str, action: str) -> int:
        """Add a note to a candidate's record; returns its id. Like `create_task`, not retried
        on server errors: look it up (`find_notes`) first."""
        ...

    def find_notes(self, text: str) -> list[dict[str, Any]]:
        """Notes whose comments contain ``text``."""
        ...

    def referred_candidates(self, added_after_ms: int) -> Iterator[Page]:
        """Candidates added after the instant whom another candidate referred."""
        ...

    def opt_out_of_mass_mail(self, candidate_id: int) -> int:
        """Mark the candidate as opted out of the agency's mass email; returns the candidate's
        id. Setting it again changes nothing, so it is retried like a read."""
        ...

    def records(self, entity: Entity, ids: list[int]) -> list[dict[str, Any]]:
        """The records of ``entity`` with these ids that exist (every field we read)."""
        ...

    def countries(self) -> dict[int, str]:
        """The ATS's country table: its country id -> its country code."""
        ...

    def fields(self, entity: Entity) -> dict[str, FieldMeta]:
        """What the ATS says of the fields we read of ``entity``, by name; `AtsError` (a 400)
        when one of them does not exist there."""
        ...
