"""The extract stage: pull changed placements and candidates from the ATS into the warehouse.

Page by page, each page in one transaction: the records as sent go to ``raw.*`` (append-only,
with the load id and extraction time), their normalised rows to ``staging.*_changes``, and the
entity's watermark moves to the end of the page. A page that cannot be read raises before its
transaction, so the watermark never passes a row we did not store; a killed pull resumes from
the last stored page on the next try. Staging then takes, set-based, the latest version of each
record from every load not yet staged. Memory holds two pages at most, whatever the volume.

The next incremental pull starts ``ats.overlap_minutes`` before the watermark, so rows committed
late with an older ``dateLastModified`` are met; rows seen twice are deduplicated by id.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from sqlalchemy.engine import Engine

from aftercare import warehouse
from aftercare.ats.base import ORIGIN, Ats, AtsError, Cursor, Entity
from aftercare.ats.normalise import Normaliser
from aftercare.config import Config

log = logging.getLogger(__name__)

_TABLES = {"Placement": ("placements", "placement_id"), "Candidate": ("candidates", "candidate_id")}
_PROGRESS_EVERY_SECONDS = 10.0


def open_ats(config: Config, conn_id: str | None = None) -> Ats:
    """The ATS of the ``aftercare_ats`` connection."""
    from airflow.sdk import BaseHook

    from aftercare.ats.bullhorn import BullhornAts, BullhornCredentials
    from aftercare.connections import ATS

    connection = BaseHook.get_connection(conn_id or ATS)
    return BullhornAts(BullhornCredentials.from_connection(connection), config.ats)


def _new_load_id(entity: str) -> str:
    return f"{entity.lower()}-{uuid.uuid4().hex[:16]}"


def pull(
    engine: Engine, ats: Ats, config: Config, entity: Entity, *, full: bool, run_id: str
) -> dict[str, int]:
    """One pull of ``entity`` into raw and staging changes; returns pages and records stored."""
    table, id_column = _TABLES[entity]
    normalise = (
        Normaliser(config).placement if entity == "Placement" else Normaliser(config).candidate
    )
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
    pages = records = 0
    last_report = time.monotonic()
    for page in ats.changes(entity, after):
        normalised = [normalise(record) for record in page.records]
        end = page.end
        with warehouse.transaction(engine) as conn:
            warehouse.execute_file(
                conn,
                "extract/store_raw_page.sql",
                {
                    "load_id": load_id,
                    "page": page.number,
                    "records": json.dumps(page.records),
                    "record_count": len(page.records),
                    "entity": entity,
                    "end_ms": end.date_last_modified_ms,
                    "end_id": end.record_id,
                },
                table=table,
                id_column=id_column,
            )
            warehouse.execute_file(
                conn,
                f"extract/store_{entity.lower()}_changes.sql",
                {"load_id": load_id, "page": page.number, "rows": json.dumps(normalised)},
            )
        pages, records = pages + 1, records + len(page.records)
        if time.monotonic() - last_report >= _PROGRESS_EVERY_SECONDS:
            log.info("%s load %s: %d pages, %d records stored", entity, load_id, pages, records)
            last_report = time.monotonic()
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(conn, "extract/finish_load.sql", {"load_id": load_id})
    log.info("%s load %s done: %d pages, %d records", entity, load_id, pages, records)
    return {f"{table}_pages": pages, f"{table}_pulled": records}


def stage(engine: Engine) -> dict[str, int]:
    """Move the latest version of every record of the loads not yet staged into staging, in
    one transaction; placements that break the staging contract go to quarantine instead."""
    with warehouse.transaction(engine) as conn:
        counts = {
            "placements_quarantined": warehouse.execute_file(
                conn, "extract/quarantine_placements.sql"
            ),
            "placements_staged": warehouse.execute_file(conn, "extract/upsert_placements.sql"),
            "placements_released": warehouse.execute_file(conn, "extract/release_placements.sql"),
            "candidates_staged": warehouse.execute_file(conn, "extract/upsert_candidates.sql"),
        }
        for entity in ("Placement", "Candidate"):
            warehouse.execute_file(conn, "extract/mark_staged.sql", {"entity": entity})
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
        deleted = warehouse.execute_file(conn, "extract/apply_sweep.sql", {"load_id": load_id})
    log.info(
        "sweep %s: %d ids listed, %d placements flagged deleted", load_id, counts["listed"], deleted
    )
    return {"placements_listed": int(counts["listed"]), "placements_deleted": deleted}
