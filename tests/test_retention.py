"""Retention (config ``retention``, `aftercare.privacy.retention`): at the clock's present (a
simulated day), exactly what is past its days is removed, on DuckDB and Postgres, and nothing
the plan or the marts read: loads not yet staged, the staged candidates, quarantine rows,
responses, batches not yet folded, the erased hashes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from aftercare import privacy, warehouse
from aftercare.config import load_config
from aftercare.privacy import retention
from tests.test_erasure import insert
from tests.test_plan import candidate

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)  # the simulated clock's present


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def engine(warehouse_engine: sa.Engine) -> sa.Engine:
    warehouse.migrate(warehouse_engine)
    return warehouse_engine


@pytest.fixture
def folders() -> Iterator[dict[str, Path]]:
    """The data folders of the test config, emptied of what the test leaves there."""
    found = {f.name: f.path for f in privacy.folders(load_config())}
    made = [found["dispatch staging"] / "retention-test", found["GX project"] / "gx"]
    yield found
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def file_at(path: Path, days_old: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    stamp = ago(days_old).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def values(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(sa.text(sql)).all())


def test_retention_removes_exactly_what_is_past_its_days(
    engine: sa.Engine, folders: dict[str, Path]
) -> None:
    days = load_config().retention
    assert (days.raw_loads_days, days.quarantine_payloads_days, days.dispatch_files_days) == (
        30,
        90,
        14,
    )
    # loads: staged 31 days ago (past), staged 29 days ago (kept), pulled 60 days ago and never
    # staged (kept: validation and staging still need it)
    for load_id, staged in (("old", ago(31)), ("recent", ago(29)), ("unstaged", None)):
        insert(
            engine,
            "raw.loads",
            {
                "load_id": load_id,
                "entity": "Candidate",
                "mode": "incremental",
                "run_id": "r",
                "started_at": ago(60),
                "staged_at": staged,
            },
        )
        insert(
            engine,
            "raw.candidates",
            {
                "load_id": load_id,
                "page": 1,
                "extracted_at": ago(60),
                "candidate_id": 1,
                "date_last_modified_ms": 1,
                "record": {"id": 1},
            },
            ("record",),
        )
        insert(
            engine,
            "staging.candidate_changes",
            {
                "load_id": load_id,
                "page": 1,
                "candidate_id": 1,
                "time_zone": "Europe/London",
                "email_opt_out": False,
                "sms_opt_in": True,
                "is_anonymized": False,
                "is_deleted": False,
                "date_last_modified": ago(60),
            },
        )
    candidate(engine, 1, load_id="old")  # the staged version: what the plan reads
    for record_id, at in (("1", ago(91)), ("2", ago(89))):
        insert(
            engine,
            "quality.quarantine",
            {
                "entity": "candidate",
                "record_id": record_id,
                "load_id": "old",
                "reasons": [],
                "payload": {"id": record_id},
                "quarantined_at": at,
            },
            ("reasons", "payload"),
        )
    for run_id, at in (("v-old", ago(91)), ("v-new", ago(89))):
        insert(
            engine,
            "quality.validation_runs",
            {
                "run_id": run_id,
                "suite": "s",
                "chunk": 0,
                "evaluated": 1,
                "passed": 1,
                "failed": 0,
                "failed_share": 0.0,
                "success": True,
                "failed_expectations": [],
                "docs_url": "",
                "validated_at": at,
            },
            ("failed_expectations",),
        )
    for event_id, at in (("e-old", ago(366)), ("e-new", ago(364))):
        insert(
            engine,
            "engagement.delivery_events",
            {
                "event_id": event_id,
                "channel": "sms",
                "provider_message_id": "SM1",
                "event": "undelivered",
                "event_at": at,
                "detail": {"error_code": 30005},
            },
            ("detail",),
        )
    insert(
        engine,
        "engagement.responses",
        {
            "response_id": "review:1",
            "candidate_id": 1,
            "kind": "review",
            "occurred_at": ago(900),
            "detail": {"stars": 5},
        },
        ("detail",),
    )
    for request_id, at in (("a-old", ago(2191)), ("a-new", ago(2189))):
        insert(
            engine,
            "aftercare.erasure_requests",
            {
                "request_id": request_id,
                "requested_by": "dpo",
                "source": "request",
                "requested_at": at,
                "candidates": 1,
                "finished_at": at,
            },
        )
        insert(
            engine,
            "aftercare.erasures",
            {"request_id": request_id, "candidate_id": 1, "outcome": "erased"},
        )
    insert(
        engine,
        "aftercare.erased_subjects",
        {"subject_hash": "h", "kind": "email", "erased_at": ago(5000)},
    )
    staging = folders["dispatch staging"] / "retention-test"
    left = file_at(staging / "old" / "sms-0001.jsonl", 15)
    pending = file_at(staging / "pending" / "sms-0001.journal.jsonl", 15)
    fresh = file_at(staging / "fresh" / "sms-0001.jsonl", 13)
    insert(
        engine,
        "aftercare.dispatch_batches",
        {
            "batch_id": "b",
            "run_id": "r",
            "channel": "sms",
            "path": f"file://{staging / 'pending' / 'sms-0001.jsonl'}",
            "touchpoints": 1,
            "dry_run": False,
        },
    )
    gx = folders["GX project"] / "gx"
    result = file_at(gx / "uncommitted" / "validations" / "s" / "run.json", 91)
    page = file_at(gx / "uncommitted" / "data_docs" / "local_site" / "validations" / "r.html", 91)
    settings = file_at(gx / "great_expectations.yml", 400)  # the project itself
    recent = file_at(gx / "uncommitted" / "validations" / "s" / "new.json", 89)

    counts = retention.enforce(engine, load_config(), NOW)

    assert values(engine, "select load_id from raw.candidates") == [("recent",), ("unstaged",)]
    assert values(engine, "select load_id from staging.candidate_changes") == [
        ("recent",),
        ("unstaged",),
    ]
    assert len(values(engine, "select load_id from raw.loads")) == 3  # counts only: kept
    assert values(engine, "select candidate_id from staging.candidates") == [(1,)]
    quarantine = values(engine, "select record_id, payload is null from quality.quarantine")
    assert quarantine == [("1", True), ("2", False)]
    assert values(engine, "select run_id from quality.validation_runs") == [("v-new",)]
    events = values(engine, "select event_id, detail is null from engagement.delivery_events")
    assert events == [("e-new", False), ("e-old", True)]
    assert values(engine, "select response_id from engagement.responses") == [("review:1",)]
    assert values(engine, "select request_id from aftercare.erasure_requests") == [("a-new",)]
    assert values(engine, "select request_id from aftercare.erasures") == [("a-new",)]
    assert values(engine, "select subject_hash from aftercare.erased_subjects") == [("h",)]
    existing = [p.exists() for p in (left, pending, fresh, result, page, settings, recent)]
    assert existing == [False, True, True, False, False, True, True]
    assert counts["raw_loads_rows"] == 2  # 1 raw record and 1 normalised version
    assert counts["dispatch_files_files_removed"] >= 1

    # run again: nothing more is past its time
    again = retention.enforce(engine, load_config(), NOW)
    assert again["raw_loads_rows"] == 0 and again["gx_results_rows"] == 0
