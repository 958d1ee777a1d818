"""The extract stage: pull changed placements and candidates from the ATS into the warehouse.

Page by page, a few pages (up to 5,000 records) per transaction: the records as sent go to
``raw.*`` (append-only, with the load id, page and extraction time), their normalised rows to
``staging.*_changes``, and the entity's watermark moves to the end of the last stored page in
the same transaction. A page that cannot be read raises before it is stored (the pages before
it are kept), so the watermark never passes a row we did not store; a killed pull resumes from
the last stored page on the next try. Once the quality gate (`aftercare.quality.gate`) has
passed the loads, `stage` takes, set-based, the latest valid version of each record. Memory
holds one batch and the client's prefetched pages at most, whatever the volume. While it
pulls, the objects that existed before are frozen out of the garbage collector's passes (see
`_heap_frozen`), and the client's fetching thread gets the GIL promptly (`_prompt_switching`).

The next incremental pull starts ``ats.overlap_minutes`` before the watermark, so rows committed
late with an older ``dateLastModified`` are met; rows seen twice are deduplicated by id.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine

from aftercare import privacy, warehouse
from aftercare.ats.base import ORIGIN, Ats, AtsError, Cursor, Entity, Page
from aftercare.ats.normalise import Normaliser, country_codes
from aftercare.config import Config

log = logging.getLogger(__name__)

_TABLES = {"Placement": ("placements", "placement_id"), "Candidate": ("candidates", "candidate_id")}
_PROGRESS_EVERY_SECONDS = 10.0
#: Pages are written together up to this many records (one transaction, few statements): the
#: most the pull holds in memory, whatever the volume.
_BATCH_RECORDS = 5_000


def _new_load_id(entity: str) -> str:
    return f"{entity.lower()}-{uuid.uuid4().hex[:16]}"


def refresh_countries(engine: Engine, ats: Ats) -> dict[int, str]:
    """The ATS's country table, read now and kept in ``staging.ats_countries``, as ISO
    regions by the ATS's country id (what the candidate normaliser reads addresses with)."""
    codes = ats.countries()
    with warehouse.transaction(engine) as conn:
        rows = json.dumps([{"id": key, "code": code} for key, code in codes.items()])
        warehouse.execute_file(conn, "extract/store_countries.sql", {"countries": rows})
        stored = warehouse.query_file(conn, "extract/countries.sql")
    return country_codes({row["country_id"]: row["code"] for row in stored})


def _changes_writer(
    entity: Entity, config: Config, countries: dict[int, str], hasher: privacy.Hasher | None
) -> Callable[[Connection, str, dict[str, Any], list[Page]], None]:
    """How a batch's normalised rows reach ``staging.*_changes``: placements are normalised in
    SQL from the batch's page bodies; candidates in Python (phone numbers and time zones need
    rphonenumbers and tzdata; addresses through the ATS's country table, ``countries``), sent
    as one json array (`warehouse.json_records`), whose dates the insert makes. Once anyone was
    erased (``hasher``), a candidate whose id, email or number is of someone erased is stored
    with nothing personal (`privacy.forget_reimported`)."""
    if entity == "Placement":
        settings = {
            "zone": config.agency.time_zone,
            "classes": json.dumps(config.ats.employment_classes),
            "active_statuses": json.dumps(dict.fromkeys(config.ats.active_statuses, True)),
        }

        def placements(
            conn: Connection, load_id: str, bodies: dict[str, Any], batch: list[Page]
        ) -> None:
            warehouse.execute_file(
                conn,
                "extract/store_placement_changes.sql",
                {"load_id": load_id, **bodies, **settings},
            )

        return placements
    normalise = Normaliser(config, countries).candidate
    zone = config.agency.time_zone

    def candidates(
        conn: Connection, load_id: str, bodies: dict[str, Any], batch: list[Page]
    ) -> None:
        rows = [{"page": page.number, **normalise(r)} for page in batch for r in page.records]
        if hasher is not None:
            privacy.forget_reimported(conn, hasher, rows)
        with warehouse.json_records(conn, rows) as bound:
            warehouse.execute_file(
                conn,
                "extract/store_candidate_changes.sql",
                {"load_id": load_id, "zone": zone, "rows": bound},
            )

    return candidates


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the garbage collector's full passes off the objects that exist before the pull.

    Decoding pages allocates containers by the million, so the collector makes full passes
    again and again, each over every object of the process: in an Airflow task, hundreds of
    thousands of long-lived ones (Airflow, SQLAlchemy), never garbage, and a fifth of the pull's
    CPU time. Frozen, they are skipped; what the pull itself creates is collected as ever."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


#: How often the interpreter hands the GIL to a waiting thread while a pull runs (Python's
#: default: every 5 ms).
_PULL_SWITCH_SECONDS = 0.001


@contextmanager
def _prompt_switching() -> Iterator[None]:
    """Let the client's fetching thread take the GIL soon after the ATS answers.

    The ATS is idle from the moment it answers a page until the fetching thread asks for the
    next one, and in between the thread reads the answer (some 24 socket reads a page) and
    decodes it; each time it needs the GIL while this thread normalises, it waits up to a
    switch interval. The candidate pull at 1M (extract.pull timed alone against the extract
    benchmark's sandbox, three runs each): 16,400 records/s at Python's default of 5 ms, 18,000
    at 1 ms."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(_PULL_SWITCH_SECONDS)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def pull(
    engine: Engine,
    ats: Ats,
    config: Config,
    entity: Entity,
    *,
    full: bool,
    run_id: str,
    erasure_salt: Callable[[], str] | None = None,
) -> dict[str, int]:
    """One pull of ``entity`` into raw and staging changes; returns pages and records stored.
    ``erasure_salt`` gives the salt of the erasure hashes, asked for only once anyone was
    erased."""
    table, id_column = _TABLES[entity]
    countries = refresh_countries(engine, ats) if entity == "Candidate" else {}
    hasher = None
    if entity == "Candidate":
        with warehouse.transaction(engine) as conn:
            hasher = privacy.hasher_if_needed(conn, erasure_salt)
    store_changes = _changes_writer(entity, config, countries, hasher)
    load_id = _new_load_id(entity)
    with warehouse.transaction(engine) as conn:
        rows = warehouse.query_file(conn, "extract/watermark.sql", {"entity": entity})
        if full or not rows:
            after = ORIGIN
        else:
            stored = Cursor(rows[0]["date_last_modified_ms"], rows[0]["record_id"])
            after = stored.rewound(int(config.ats.overlap_minutes * 60_000))
        warehouse.execute_file(
            conn,
            "extract/start_load.sql",
            {
                "load_id": load_id,
                "entity": entity,
                "mode": "full" if full or not rows else "incremental",
                "run_id": run_id,
                "after_ms": after.date_last_modified_ms,
                "after_id": after.record_id,
            },
        )
    log.info("%s load %s: pulling changes after %s", entity, load_id, after)
    batch: list[Page] = []
    pages = records = 0
    last_report = time.monotonic()

    def store() -> None:
        """Write the batch's pages in one transaction, with the watermark at its end."""
        nonlocal pages, records
        if not batch:
            return
        count = sum(len(page.records) for page in batch)
        end = batch[-1].end
        # the response bodies as sent (valid JSON: the client decoded them), in one parameter;
        # the SQL numbers the records' pages, which are full but for the feed's last one
        if any(len(page.records) != config.ats.page_size for page in batch[:-1]):
            raise AtsError(f"{entity} load {load_id}: a short page before the end of the feed")
        bodies = {
            "bodies": "[" + ",".join(page.body for page in batch) + "]",
            "first_page": batch[0].number,
            "page_size": config.ats.page_size,
        }
        with warehouse.transaction(engine) as conn:
            warehouse.execute_file(
                conn,
                "extract/store_raw_pages.sql",
                {"load_id": load_id, **bodies},
                table=table,
                id_column=id_column,
            )
            store_changes(conn, load_id, bodies, batch)
            warehouse.execute_file(
                conn,
                "extract/advance_load.sql",
                {
                    "load_id": load_id,
                    "page_count": len(batch),
                    "record_count": count,
                    "entity": entity,
                    "end_ms": end.date_last_modified_ms,
                    "end_id": end.record_id,
                },
            )
        pages, records = pages + len(batch), records + count
        batch.clear()

    with _heap_frozen(), _prompt_switching():
        try:
            for page in ats.changes(entity, after):
                batch.append(page)
                if sum(len(p.records) for p in batch) >= _BATCH_RECORDS:
                    store()
                if time.monotonic() - last_report >= _PROGRESS_EVERY_SECONDS:
                    log.info(
                        "%s load %s: %d pages, %d records stored", entity, load_id, pages, records
                    )
                    last_report = time.monotonic()
        except AtsError:
            store()  # the pages the ATS delivered before failing are good: keep them
            raise
        store()
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(conn, "extract/finish_load.sql", {"load_id": load_id})
    log.info("%s load %s done: %d pages, %d records", entity, load_id, pages, records)
    return {f"{table}_pages": pages, f"{table}_pulled": records}


def stage(engine: Engine) -> dict[str, int]:
    """Move the latest version of every record of the validated loads into staging, in one
    transaction; a version in quarantine is skipped (staging keeps the one it had), and a
    record staged now leaves quarantine. Versions of earlier loads that the gate judged again
    on request and released are staged with them."""
    with warehouse.transaction(engine) as conn:
        # the loads staged now, fixed once: a load validated meanwhile waits for the next run
        loads = [
            row["load_id"] for row in warehouse.query_file(conn, "extract/validated_loads.sql")
        ]
        batch = {"load_ids": json.dumps(loads)}
        counts = {
            "placements_staged": warehouse.execute_file(
                conn, "extract/upsert_placements.sql", batch
            ),
            "candidates_staged": warehouse.execute_file(
                conn, "extract/upsert_candidates.sql", batch
            ),
            "records_released": warehouse.execute_file(
                conn, "extract/release_quarantined.sql", batch
            ),
        }
        # the versions judged again on request and released were staged above, with the loads'
        warehouse.execute_file(conn, "quality/clear_rejudged.sql")
        warehouse.execute_file(conn, "extract/mark_staged.sql", batch)
    return counts


def sweep(engine: Engine, ats: Ats, *, run_id: str, min_share: float = 0.5) -> dict[str, int]:
    """List every placement id in the ATS; placements staging holds but the ATS no longer
    lists are flagged deleted. A listing shorter than ``min_share`` of what staging holds is
    refused (an ATS or network fault must not delete the book)."""
    load_id = _new_load_id("PlacementIds")
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(
            conn,
            "extract/start_load.sql",
            {
                "load_id": load_id,
                "entity": "PlacementIds",
                "mode": "sweep",
                "run_id": run_id,
                "after_ms": None,
                "after_id": None,
            },
        )
    for ids in ats.placement_ids():
        with warehouse.transaction(engine) as conn:
            warehouse.execute_file(
                conn,
                "extract/record_sweep_ids.sql",
                {"load_id": load_id, "ids": json.dumps(ids), "record_count": len(ids)},
            )
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(conn, "extract/finish_load.sql", {"load_id": load_id})
        counts: dict[str, Any] = warehouse.query_file(
            conn, "extract/sweep_counts.sql", {"load_id": load_id}
        )[0]
        if counts["present"] and counts["listed"] < min_share * counts["present"]:
            raise AtsError(
                f"deletion sweep {load_id} listed {counts['listed']} placements but staging "
                f"holds {counts['present']}; refusing to flag the rest deleted"
            )
        restored = warehouse.execute_file(conn, "extract/restore_swept.sql", {"load_id": load_id})
        deleted = warehouse.execute_file(conn, "extract/apply_sweep.sql", {"load_id": load_id})
    log.info(
        "sweep %s: %d ids listed, %d placements flagged deleted", load_id, counts["listed"], deleted
    )
    return {
        "placements_listed": int(counts["listed"]),
        "placements_deleted": deleted,
        "placements_restored": restored,
    }
