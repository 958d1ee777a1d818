"""Erasure (DAG ``aftercare_erasure``; runbook dags/aftercare_erasure.md): a candidate's personal
data removed from every table and file of the registry (`aftercare.privacy`), nobody erased
ever messaged again, and the providers asked to erase what they hold, each once.

For one request (candidate ids from a trigger, or the candidates the ATS anonymised or deleted),
in this order, so that a retry after any failure finishes the work and asks nothing twice:

1. the audit row (who asked, when, how many);
2. the erasure suppression, committed first: the salted hashes of each candidate's id, emails
   and numbers (`aftercare.erased_subjects`, which the extract checks what it pulls against)
   and an ``all`` suppression of the id (planning and dispatch reach nobody with one);
3. dispatch's unfolded journals folded (their batch files hold addresses), then every file of
   the data folders that still names them rewritten without it;
4. Twilio asked to delete each of their texts and replies, SendGrid to erase their addresses
   (in jobs of at most 5,000), each recorded in `aftercare.provider_erasures` as it is asked;
   the preferences service to delete their video pages and their videos' share links
   (`privacy.SERVICE_TABLES`; asked again on a retry, which deletes nothing more); their
   Sendspark prospects counted (``sendspark_prospects``): Sendspark's API has no call that
   deletes one, so they are deleted in Sendspark's app (docs/privacy.md);
5. every registered table's erase statement (the ledger keeps its ids, milestones, channels,
   statuses, reasons and times: counts stay right);
6. each candidate's outcome (``erased``, or ``unknown``: nothing held of that id) and the
   request's counts.

What the warehouse knows of the candidates is read once, before anything is removed, and lives
only in this process: nothing returned or logged carries it (counts only).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from aftercare import privacy, warehouse
from aftercare.config import Config
from aftercare.dispatch import batches

log = logging.getLogger(__name__)


class TextEraser(Protocol):
    def delete(self, sid: str) -> bool:
        """Delete one message; False when the provider has none by that sid."""


class EmailEraser(Protocol):
    def erase(self, addresses: list[str]) -> str:
        """Ask the provider to erase what it holds of these addresses; its job id."""


class PageEraser(Protocol):
    def forget(self, candidate_ids: list[int]) -> int:
        """Delete the candidates' video pages at the preferences service; how many."""


@dataclass(frozen=True)
class Request:
    """One erasure request: its id (the DAG run's), who asked, ``request`` or ``ats``."""

    request_id: str
    requested_by: str
    source: str
    requested_at: datetime


@dataclass
class Identity:
    """What identifies one candidate: in this process only, never stored or logged."""

    names: set[str]
    emails: set[str]
    numbers: set[str]

    def values(self) -> set[str]:
        return {v for v in self.names | self.emails | self.numbers if len(v) >= 3}


def candidates_removed_in_ats(engine: Engine) -> list[int]:
    """The candidates the ATS anonymised or deleted whose data is still held."""
    with warehouse.transaction(engine) as conn:
        rows = warehouse.query_file(conn, "privacy/removed_in_ats.sql")
    return [row["candidate_id"] for row in rows]


def erase(
    engine: Engine,
    config: Config,
    candidate_ids: Iterable[int],
    request: Request,
    *,
    hasher: privacy.Hasher,
    staging: batches.Staging,
    texts: TextEraser,
    emails: EmailEraser | None,
    pages: PageEraser | None = None,
) -> dict[str, int]:
    """Erase ``candidate_ids`` (see the module); returns counts. ``emails`` is None when email
    goes through an SMTP relay, which keeps nothing we can ask it to erase; ``pages`` None
    when no preferences service is deployed (no video pages anywhere)."""
    wanted = sorted(set(candidate_ids))
    ids = {"candidate_ids": json.dumps([str(i) for i in wanted])}
    counts: Counter[str] = Counter(requested=len(wanted))
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn,
            "privacy/start_request.sql",
            {
                "request_id": request.request_id,
                "requested_by": request.requested_by,
                "source": request.source,
                "requested_at": request.requested_at.isoformat(),
                "candidates": len(wanted),
            },
        )
        known = {
            r["candidate_id"]
            for r in warehouse.query_file(conn, "privacy/known_candidates.sql", ids)
        }
        identities = _identities(warehouse.query_file(conn, "privacy/identities.sql", ids))
        sids = warehouse.query_file(conn, "privacy/text_sids.sql", ids)
        [prospects] = warehouse.query_file(conn, "privacy/sendspark_prospects.sql", ids)
    if prospects["prospects"]:  # Sendspark deletes none by API: the DPO deletes them there
        counts["sendspark_prospects"] = prospects["prospects"]
    erased = sorted(known)
    if erased:
        held = {"candidate_ids": json.dumps([str(i) for i in erased])}
        subjects = {
            digest: kind
            for candidate_id in erased
            for digest, kind in _hashes(hasher, candidate_id, identities.get(candidate_id)).items()
        }
        with warehouse.transaction(engine) as conn:
            warehouse.execute_file(
                conn,
                "privacy/record_erased.sql",
                {
                    **held,
                    "subjects": json.dumps([{"hash": h, "kind": k} for h, k in subjects.items()]),
                },
            )
        counts["hashes"] = len(subjects)
        folded = batches.fold(engine, config, staging)
        counts.update({f"folded_{k}": v for k, v in folded.items()})
        counts["files_rewritten"] = scrub_files(
            privacy.folders(config), set(erased), identities.values()
        )
        counts["texts_deleted"] = _ask_twilio(engine, texts, sids)
        if emails is not None:
            counts["addresses_erased"] = _ask_sendgrid(engine, hasher, emails, identities)
        if pages is not None:
            counts["video_pages_erased"] = pages.forget(erased)
        with warehouse.transaction(engine) as conn:
            for sql in dict.fromkeys(t.erase for t in privacy.TABLES if t.erase):
                warehouse.execute_file(conn, sql, held)
    outcomes = [
        {"candidate_id": i, "outcome": "erased" if i in known else "unknown"} for i in wanted
    ]
    counts["erased"], counts["unknown"] = len(erased), len(wanted) - len(erased)
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn,
            "privacy/finish_request.sql",
            {
                "request_id": request.request_id,
                "outcomes": json.dumps(outcomes),
                "erased": counts["erased"],
                "unknown": counts["unknown"],
                "counts": json.dumps(dict(counts)),
            },
        )
    log.info("erasure %s: %s", request.request_id, dict(counts))
    return dict(counts)


def _identities(rows: list[dict[str, Any]]) -> dict[int, Identity]:
    found: dict[int, Identity] = {}
    for row in rows:
        who = found.setdefault(row["candidate_id"], Identity(set(), set(), set()))
        first, last = row["first_name"], row["last_name"]
        who.names.update(n for n in (first, last) if n)
        if first and last:
            who.names.add(f"{first} {last}")
        if row["email"]:
            who.emails.add(row["email"].strip().lower())
            who.emails.add(row["email"])
        numbers = ("mobile_raw", "mobile_e164", "phone_raw", "phone_e164")
        who.numbers.update(row[key] for key in numbers if row[key])
    return found


def _hashes(hasher: privacy.Hasher, candidate_id: int, who: Identity | None) -> dict[str, str]:
    """hash -> kind of a candidate's id, every email and every E.164 number held."""
    if who is None:
        return hasher.of_candidate(candidate_id, (), ())
    return hasher.of_candidate(candidate_id, who.emails, who.numbers)


def _not_asked(engine: Engine, provider: str, items: list[str]) -> set[str]:
    with warehouse.transaction(engine) as conn:
        asked = warehouse.query_file(
            conn, "privacy/asked.sql", {"provider": provider, "items": json.dumps(items)}
        )
    return set(items) - {row["item"] for row in asked}


def _record_asked(engine: Engine, provider: str, asked: list[dict[str, Any]]) -> None:
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn, "privacy/record_asked.sql", {"provider": provider, "asked": json.dumps(asked)}
        )


def _ask_twilio(engine: Engine, texts: TextEraser, sids: list[dict[str, Any]]) -> int:
    """Delete each text and reply not asked for before, recording each as it is asked."""
    owner = {row["sid"]: row["candidate_id"] for row in sids}
    pending = sorted(_not_asked(engine, "twilio", sorted(owner)))
    for sid in pending:
        texts.delete(sid)
        _record_asked(engine, "twilio", [{"item": sid, "candidate_id": owner[sid]}])
    return len(pending)


def _ask_sendgrid(
    engine: Engine,
    hasher: privacy.Hasher,
    emails: EmailEraser,
    identities: dict[int, Identity],
) -> int:
    """One erase job per batch of addresses not asked for before (keyed by their hashes)."""
    from aftercare.providers.sendgrid import ERASE_BATCH

    by_hash = {
        hasher("email", email): (email, candidate_id)
        for candidate_id, who in identities.items()
        for email in sorted(who.emails)
        if email == email.strip().lower()
    }
    pending = sorted(_not_asked(engine, "sendgrid", sorted(by_hash)))
    for start in range(0, len(pending), ERASE_BATCH):
        chunk = pending[start : start + ERASE_BATCH]
        emails.erase([by_hash[digest][0] for digest in chunk])
        asked = [{"item": digest, "candidate_id": by_hash[digest][1]} for digest in chunk]
        _record_asked(engine, "sendgrid", asked)
    return len(pending)


def scrub_files(
    folders: Iterable[privacy.Folder], candidate_ids: set[int], identities: Iterable[Identity]
) -> int:
    """Rewrite every file of the data folders that names one of the candidates: a JSON Lines
    file (dispatch's batches and journals) without the lines of those candidates or naming
    them; any other text file with each name, email and number replaced by ``[erased]``.
    Returns the files rewritten."""
    values = sorted({v for who in identities for v in who.values()}, key=len, reverse=True)
    if not values:
        return 0
    needles = [v.encode() for v in values]
    rewritten = 0
    for folder in folders:
        if not folder.scrubbed or not folder.path.is_dir():
            continue
        for path in sorted(p for p in folder.path.rglob("*") if p.is_file()):
            data = path.read_bytes()
            if not any(needle in data for needle in needles):
                continue
            _rewrite(path, data, candidate_ids, values)
            rewritten += 1
    return rewritten


def _rewrite(path: Path, data: bytes, candidate_ids: set[int], values: list[str]) -> None:
    text = data.decode("utf-8", errors="replace")
    if path.suffix == ".jsonl":
        text = "".join(
            line
            for line in text.splitlines(keepends=True)
            if not _names_them(line, candidate_ids, values)
        )
    else:
        for value in values:
            text = text.replace(value, "[erased]")
    temporary = path.with_name(f".{path.name}.erasing")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _names_them(line: str, candidate_ids: set[int], values: list[str]) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if isinstance(record, dict) and record.get("candidate_id") in candidate_ids:
        return True
    return any(value in line for value in values)
