"""Retention (weekly, in the DAG ``aftercare_erasure``): what can hold personal data is kept
for its days (config ``retention``) and no longer, past what the plan and the marts need. Every
table and folder comes from the registry (`aftercare.privacy`), as erasure's do:

- raw loads (``raw.*`` records and ``staging.*_changes`` rows) of loads staged before the
  cut-off: staging holds the latest valid version of each record, which is all the plan reads;
  loads not yet staged are kept whatever their age, and so is ``raw.loads`` itself (the
  breaker's volume history: counts only);
- quarantine payloads (the failed version a quarantine row keeps): the row stays, open or
  released, so the plan still holds back a record whose newest version failed;
- GX results: ``quality.validation_runs`` rows, and the validation result and Data Docs page
  files (which hold ids and counts only);
- engagement payloads: the provider details of delivery events (the responses, which the marts
  read, are kept);
- dispatch files: batch and journal files left under the staging root (the fold deletes the
  ones it folds; a batch not yet folded is never touched);
- erasure audit rows (never the hashes of who was erased: they suppress for good);
- the preferences service's video pages (`privacy.SERVICE_TABLES`), asked of the service.

Each cut-off is the clock's present (the dispatch clock: simulated in the demo and the tests)
less its days. Returns counts.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Engine

from aftercare import PROJECT_ROOT, privacy, warehouse
from aftercare.config import Config

log = logging.getLogger(__name__)


class PageRetainer(Protocol):
    def retain(self, before: datetime) -> int:
        """Delete the video pages registered before ``before``; how many."""


def enforce(
    engine: Engine, config: Config, now: datetime, pages: PageRetainer | None = None
) -> dict[str, int]:
    """Remove what is past its time (see the module); counts of rows and files removed.
    ``pages``: the preferences service's video pages (None: no service deployed)."""
    days = config.retention.model_dump()

    def cutoff(key: str) -> str:
        return (now - timedelta(days=days[f"{key}_days"])).isoformat()

    statements = {table.retain: table.retention for table in privacy.TABLES if table.retain}
    statements.update({sql: key for key, sql in privacy.TIMED})
    counts: dict[str, int] = {}
    with warehouse.transaction(engine) as conn:
        pending = {
            row["path"] for row in warehouse.query_file(conn, "dispatch/pending_batches.sql")
        }
        for sql, key in statements.items():
            counts[f"{key}_rows"] = warehouse.execute_file(conn, sql, {"cutoff": cutoff(key)})
    for folder in privacy.folders(config):
        if folder.retention is None or not folder.path.is_dir():
            continue
        limit = datetime.fromisoformat(cutoff(folder.retention)).timestamp()
        roots = [folder.path / sub for sub in folder.timed] or [folder.path]
        removed = 0
        for root in roots:
            for path in sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []:
                if path.stat().st_mtime < limit and not _of_pending(path, pending):
                    path.unlink()
                    removed += 1
        counts[f"{folder.retention}_files_removed"] = removed
    if pages is not None:
        for table in privacy.SERVICE_TABLES:
            if table.retention:
                before = datetime.fromisoformat(cutoff(table.retention))
                counts[f"{table.retention}_removed"] = pages.retain(before)
    log.info("retention: %s", counts)
    return counts


def _of_pending(path: Path, pending: set[str]) -> bool:
    """Whether a file belongs to a batch whose journal is not yet folded (its batch file, or
    the journal, seal or claim beside it: the batch file's name less ``.jsonl``, and more)."""
    stems = {str(PROJECT_ROOT / p.removeprefix("file://")).removesuffix(".jsonl") for p in pending}
    return any(str(path.resolve()).startswith(stem) for stem in stems)
