"""Where personal data lives: the one registry of every warehouse column and data folder that
can hold a candidate's (or a recruiter's) name, email or number, and what erasure
(`aftercare.privacy.erasure`) and retention (`aftercare.privacy.retention`) do with each. Both
read only this list, so a table added here is erased and kept for its time by both; one not
added fails ``tests/test_erasure.py``, which checks the registry against the migrated schema
(every column whose name says it can hold such data) and the data folders of the config. The
preferences service's store is registered apart (`SERVICE_TABLES`): it lives on the service's
host, and both reach it through the service.

Also the salted hash that keys the erasure suppression (`Hasher`): HMAC-SHA256 of a kind and a
normalised value (a candidate id, a lower-cased email, an E.164 number), the salt from the
Airflow connection ``aftercare_erasure``; the warehouse keeps only the hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import Connection

from aftercare import PROJECT_ROOT, warehouse
from aftercare.config import Config

#: the personal columns of a candidate row (staging.candidates, staging.candidate_changes)
CANDIDATE_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "mobile_raw",
    "mobile_e164",
    "phone_raw",
    "phone_e164",
    "date_of_birth",
)
#: the recruiter's (the placement's owner: a member of the agency's staff)
OWNER_COLUMNS = ("owner_first_name", "owner_last_name", "owner_email")

#: a column whose name says it can hold a name, an email, a number, or a record or payload that
#: carries them: what the registry must cover (tests/test_erasure.py)
PERSONAL_COLUMN = re.compile(
    r"(^|_)(first_name|last_name|full_name|email|mobile|mobile_raw|mobile_e164|phone|phone_raw"
    r"|phone_e164|date_of_birth|address|record|payload|detail|attempt)$"
)

RetentionKey = Literal[
    "raw_loads",
    "quarantine_payloads",
    "gx_results",
    "engagement_payloads",
    "dispatch_files",
    "audit",
    "video_pages",
]


@dataclass(frozen=True)
class Table:
    """A table with columns that can hold personal data. ``whose``: a candidate's (erased per
    candidate), a recruiter's (the agency's staff: kept, but for retention), or nobody's (the
    column's name matches, but it holds ids and codes only: the tests scan it). ``erase``: the
    SQL file (``sql/privacy/``) that erases the candidates ``:candidate_ids``; ``retention``:
    the setting (``retention.<key>_days``) and ``retain`` the SQL file that removes what is past
    its time (tables that share a file share its run)."""

    name: str
    columns: tuple[str, ...]
    whose: Literal["candidate", "recruiter", "nobody"]
    erase: str | None = None
    retention: RetentionKey | None = None
    retain: str | None = None


TABLES = (
    Table(
        "raw.candidates",
        ("record",),
        "candidate",
        erase="privacy/erase_raw_candidates.sql",
        retention="raw_loads",
        retain="privacy/retain_raw_loads.sql",
    ),
    # the placement as the ATS sent it: candidate(id) only, and the recruiter (owner)
    Table(
        "raw.placements",
        ("record",),
        "recruiter",
        retention="raw_loads",
        retain="privacy/retain_raw_loads.sql",
    ),
    Table(
        "staging.candidate_changes",
        CANDIDATE_COLUMNS,
        "candidate",
        erase="privacy/erase_candidates.sql",
        retention="raw_loads",
        retain="privacy/retain_raw_loads.sql",
    ),
    Table(
        "staging.placement_changes",
        OWNER_COLUMNS,
        "recruiter",
        retention="raw_loads",
        retain="privacy/retain_raw_loads.sql",
    ),
    # the current version of each candidate: what the plan and dispatch read, kept while it is
    Table(
        "staging.candidates",
        CANDIDATE_COLUMNS,
        "candidate",
        erase="privacy/erase_candidates.sql",
    ),
    Table("staging.placements", OWNER_COLUMNS, "recruiter"),
    Table(
        "quality.quarantine",
        ("payload",),
        "candidate",
        erase="privacy/erase_quarantine.sql",
        retention="quarantine_payloads",
        retain="privacy/retain_quarantine_payloads.sql",
    ),
    # the last try of each touchpoint: an sms's recipient
    Table(
        "aftercare.touchpoints",
        ("attempt",),
        "candidate",
        erase="privacy/erase_touchpoints.sql",
    ),
    # provider details: a bounce type, an error code
    Table(
        "engagement.delivery_events",
        ("detail",),
        "nobody",
        retention="engagement_payloads",
        retain="privacy/retain_engagement_payloads.sql",
    ),
    # what the marts read of a response: stars, a sentiment, an answer, a referral's ids
    Table("engagement.responses", ("detail",), "nobody"),
)


@dataclass(frozen=True)
class ServiceTable:
    """A table of the preferences service's store (`aftercare.preferences.store`, SQLite on the
    service's host): the warehouse's tasks never open it, they ask the service (through
    `aftercare.providers.video.OwnVideoPages`) to erase a candidate's rows (or columns) of a
    ``candidate`` table and to remove those past ``retention``."""

    name: str
    columns: tuple[str, ...]
    whose: Literal["candidate", "nobody"]
    retention: RetentionKey | None = None


SERVICE_TABLES = (
    # each video touchpoint's page: what it shows of the candidate
    ServiceTable(
        "video_pages",
        ("first_name", "job_title", "company", "recruiter_name"),
        "candidate",
        retention="video_pages",
    ),
    # opt-outs, clicks and video events: ids, channels, times; a Sendspark render's share link
    # in its detail (a video personalised with the name), cleared with the candidate's pages
    # (erasure) and with pages as old (retention): the same call of the service
    ServiceTable("events", ("detail",), "candidate"),
)

#: tables kept for a time that hold no personal data (GX results; the erasure audit)
TIMED = (
    ("gx_results", "privacy/retain_gx_results.sql"),
    ("audit", "privacy/retain_audit.sql"),
)


@dataclass(frozen=True)
class Folder:
    """A data folder whose files can hold personal data, and its retention setting (None:
    rebuilt whole by every run that writes it)."""

    name: str
    path: Path
    retention: RetentionKey | None
    #: the subfolders retention deletes old files from (all of it when empty)
    timed: tuple[str, ...] = ()
    #: whether erasure rewrites its text files that name someone (False: a database that holds
    #: ids only, never rewritten as text)
    scrubbed: bool = True


def folders(config: Config) -> tuple[Folder, ...]:
    """The data folders of ``config``: dispatch's batch and journal files (addresses), the GX
    project (results and Data Docs: ids only, by design), the report's folder, the preferences
    service's store (never rewritten as text: see `SERVICE_TABLES`)."""
    root = config.dispatch.staging_root.removeprefix("file://")
    return (
        Folder("dispatch staging", PROJECT_ROOT / root, "dispatch_files"),
        Folder(
            "GX project",
            PROJECT_ROOT / config.quality.gx_project_dir,
            "gx_results",
            timed=("gx/uncommitted/validations", "gx/uncommitted/data_docs/local_site/validations"),
        ),
        Folder("report", (PROJECT_ROOT / config.engagement.report_path).parent, None),
        # the preferences service's store: its events (ids, channels, times) and the video
        # pages (erased and kept for their time through the service: SERVICE_TABLES)
        Folder(
            "preferences store",
            (PROJECT_ROOT / config.preferences.store_path).parent,
            None,
            scrubbed=False,
        ),
    )


class Hasher:
    """The salted hash of an erased subject: HMAC-SHA256 of ``<kind>:<normalised value>``."""

    def __init__(self, salt: str) -> None:
        if len(salt) < 16:
            raise ValueError("the erasure salt must be at least 16 characters")
        self._key = salt.encode()

    def __call__(self, kind: Literal["candidate", "email", "phone"], value: object) -> str:
        text = str(value).strip()
        text = text.lower() if kind == "email" else text
        return hmac.new(self._key, f"{kind}:{text}".encode(), hashlib.sha256).hexdigest()

    def of_candidate(
        self, candidate_id: int, emails: Iterable[str | None], numbers: Iterable[str | None]
    ) -> dict[str, str]:
        """hash -> kind of a candidate's id, emails and E.164 numbers (those they have)."""
        hashes = {self("candidate", candidate_id): "candidate"}
        hashes.update({self("email", email): "email" for email in emails if email})
        hashes.update(
            {self("phone", number): "phone" for number in numbers if number and number[0] == "+"}
        )
        return hashes


def hasher_if_needed(conn: Connection, salt: Callable[[], str] | None) -> Hasher | None:
    """The hasher the extract checks what it pulls with, once anyone was erased (None before:
    nothing to check, and no salt needed)."""
    [row] = warehouse.query_file(conn, "privacy/any_erased.sql")
    if not row["any_erased"]:
        return None
    if salt is None:
        raise ValueError("candidates were erased: the extract needs the erasure salt to check them")
    return Hasher(salt())


def forget_reimported(conn: Connection, hasher: Hasher, rows: list[dict[str, Any]]) -> set[int]:
    """The normalised candidate ``rows`` of a pull whose id, email or number is of someone
    erased: their personal fields dropped (and the record anonymised) in place, their raw
    versions deleted, their id suppressed and its hashes recorded, so a person the ATS sends
    back is never messaged and never stored again. Returns their ids."""
    by_row = [
        hasher.of_candidate(
            row["candidate_id"], [row["email"]], [row["mobile_e164"], row["phone_e164"]]
        )
        for row in rows
    ]
    every = sorted({digest for hashes in by_row for digest in hashes})
    hits = {
        r["subject_hash"]
        for r in warehouse.query_file(
            conn, "privacy/erased_hashes.sql", {"hashes": json.dumps(every)}
        )
    }
    erased: set[int] = set()
    subjects: dict[str, str] = {}
    for row, hashes in zip(rows, by_row, strict=True):
        if hits.isdisjoint(hashes):
            continue
        erased.add(row["candidate_id"])
        subjects.update(hashes)
        row.update(dict.fromkeys(CANDIDATE_COLUMNS), is_anonymized=True)
    if erased:
        ids = {"candidate_ids": json.dumps([str(i) for i in sorted(erased)])}
        subjects_json = json.dumps([{"hash": h, "kind": k} for h, k in subjects.items()])
        warehouse.execute_file(
            conn, "privacy/record_erased.sql", {**ids, "subjects": subjects_json}
        )
        warehouse.execute_file(conn, "privacy/erase_raw_candidates.sql", ids)
    return erased
