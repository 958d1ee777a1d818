"""The validation gate on a corpus of hand-made records, on DuckDB and on Postgres: each bad
record lands in quarantine with exactly its reasons, good ones are staged untouched; the
breaker trips above its threshold and not at it, on a volume collapse and on stale data."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from aftercare import extract, warehouse
from aftercare.config import Config, load_config
from aftercare.quality import docs_index, gate, suites

AS_OF = datetime(2026, 11, 24, 2, tzinfo=UTC)
MODIFIED = datetime(2026, 11, 23, 12, tzinfo=UTC)

GOOD_PLACEMENT = {
    "candidate_id": 1,
    "status": "Placed",
    "employment_type": "Temporary",
    "start_date": date(2026, 1, 5),
    "end_date": date(2026, 12, 31),
    "owner_email": "sam.recruiter@agency.example",
}
GOOD_CANDIDATE = {
    "email": "ada.lovelace@example.com",
    "mobile_raw": "07700 900123",
    "mobile_e164": "+447700900123",
    "phone_raw": None,
    "phone_e164": None,
    "date_of_birth": date(1990, 4, 1),
    "date_added": datetime(2020, 1, 1, tzinfo=UTC),
}

#: placement id -> (what differs from a good placement, the columns it must be quarantined for,
#: the fields it flows on without)
PLACEMENTS: dict[int, tuple[dict, set[str], set[str]]] = {
    101: ({}, set(), set()),
    102: ({"candidate_id": None}, {"candidate_id"}, set()),
    103: ({"candidate_id": 999}, {"known_candidate_id"}, set()),
    # (candidate 8 has no date of birth: a start in 1901 would make anyone's age implausible)
    104: ({"candidate_id": 8, "start_date": None}, {"start_date"}, set()),
    105: (
        {"candidate_id": 8, "start_date": date(1901, 1, 1), "end_date": None},
        {"start_date"},
        set(),
    ),
    106: ({"end_date": date(2025, 12, 1)}, {"end_date"}, set()),
    107: ({"end_date": date(2300, 1, 1)}, {"end_date"}, set()),
    108: ({"status": None}, {"status"}, set()),
    109: ({"status": "Onboarding"}, {"status"}, set()),
    110: ({"employment_type": "Seasonal"}, {"employment_type"}, set()),
    111: ({"employment_type": None, "end_date": None}, set(), set()),  # the class fallback applies
    112: (
        {"candidate_id": 998, "status": "placed", "end_date": date(2025, 1, 1)},
        {"known_candidate_id", "status", "end_date"},
        set(),
    ),
    # a recruiter's address as some ATS users keep it: the placement flows on without it
    113: ({"owner_email": "@"}, set(), {"owner_email"}),
    114: ({"owner_email": None}, set(), set()),
}
#: candidate id -> (what differs from a good candidate, the fields it flows on without); a bad
#: contact field or date of birth is a finding about the field, never a reason to quarantine
#: (candidate 10, added after its last change, is quarantined: QUARANTINED_CANDIDATES)
CANDIDATES: dict[int, tuple[dict, set[str]]] = {
    1: ({}, set()),
    2: ({"email": "ada.lovelace@"}, {"email"}),
    3: ({"email": "no-at-sign.example.com"}, {"email"}),
    4: ({"mobile_raw": "12", "mobile_e164": None}, {"mobile"}),
    5: ({"date_of_birth": date(2020, 1, 1)}, {"date_of_birth"}),  # 6 at their start
    6: ({"date_of_birth": date(1910, 1, 1)}, {"date_of_birth"}),  # 116
    7: ({"date_of_birth": date(2030, 1, 1)}, {"date_of_birth"}),  # born after the start
    8: ({"email": None, "mobile_raw": None, "mobile_e164": None, "date_of_birth": None}, set()),
    9: (
        {
            "email": "x@y",
            "mobile_raw": "abc",
            "mobile_e164": None,
            "phone_raw": "n/a",
            "date_of_birth": date(2015, 1, 1),
        },
        {"email", "mobile", "phone", "date_of_birth"},
    ),
    10: ({"date_added": datetime(2026, 12, 1, tzinfo=UTC)}, set()),
}
#: the candidates quarantined, with the columns of their reasons: a record rule failed
QUARANTINED_CANDIDATES = {10: {"date_last_modified"}}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    base = load_config()
    return base.model_copy(
        update={"quality": base.quality.model_copy(update={"gx_project_dir": tmp_path / "gx"})}
    )


@pytest.fixture
def engine(warehouse_engine: sa.Engine) -> sa.Engine:
    warehouse.migrate(warehouse_engine)
    return warehouse_engine


def add_load(
    engine: sa.Engine,
    load_id: str,
    placements: dict[int, dict],
    candidates: dict[int, dict],
    mode: str = "full",
) -> None:
    """A finished load of changes, as the extract leaves it (one load per entity)."""
    with warehouse.transaction(engine) as conn:
        for entity, rows in (("Placement", placements), ("Candidate", candidates)):
            conn.execute(
                sa.text(
                    "insert into raw.loads (load_id, entity, mode, records, extracted_at)"
                    " values (:load_id, :entity, :mode, :records, :at)"
                ),
                {
                    "load_id": f"{load_id}-{entity.lower()}",
                    "entity": entity,
                    "mode": mode,
                    "records": len(rows),
                    "at": MODIFIED,
                },
            )
        for pid, row in placements.items():
            conn.execute(
                sa.text(
                    "insert into staging.placement_changes (load_id, page, placement_id,"
                    " candidate_id, status, employment_type, employment_class, is_active,"
                    " start_date, end_date, owner_email, date_last_modified) values (:load_id,"
                    " 1, :id, :candidate_id, :status, :employment_type, 'temp', true,"
                    " :start_date, :end_date, :owner_email, :modified)"
                ),
                {"load_id": f"{load_id}-placement", "id": pid, "modified": MODIFIED, **row},
            )
        for cid, row in candidates.items():
            conn.execute(
                sa.text(
                    "insert into staging.candidate_changes (load_id, page, candidate_id, email,"
                    " mobile_raw, mobile_e164, phone_raw, phone_e164, date_of_birth, time_zone,"
                    " email_opt_out, sms_opt_in, is_anonymized, is_deleted, date_added,"
                    " date_last_modified) values (:load_id, 1, :id, :email, :mobile_raw,"
                    " :mobile_e164, :phone_raw, :phone_e164, :date_of_birth, 'Europe/London',"
                    " false, true, false, false, :date_added, :modified)"
                ),
                {"load_id": f"{load_id}-candidate", "id": cid, "modified": MODIFIED, **row},
            )


def corpus() -> tuple[dict[int, dict], dict[int, dict]]:
    return (
        {pid: {**GOOD_PLACEMENT, **diff} for pid, (diff, _, _) in PLACEMENTS.items()},
        {cid: {**GOOD_CANDIDATE, **diff} for cid, (diff, _) in CANDIDATES.items()},
    )


def quarantine(engine: sa.Engine) -> dict[tuple[str, int], set[str]]:
    """Open quarantine rows: (entity, id) -> the columns of their reasons."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select entity, record_id, cast(reasons as varchar) from quality.quarantine"
                " where released_at is null"
            )
        ).all()
    return {(e, int(r)): {reason["column"] for reason in json.loads(why)} for e, r, why in rows}


def ids(engine: sa.Engine, table: str, key: str) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text(f"select {key} from staging.{table}")).scalars())  # noqa: S608


def loose(config: Config, **quality: object) -> Config:
    return config.model_copy(update={"quality": config.quality.model_copy(update=quality)})


def findings(engine: sa.Engine) -> dict[tuple[str, int], set[str]]:
    """Field findings: (entity, id) -> the fields found bad."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("select entity, record_id, field from quality.field_findings")
        ).all()
    found: dict[tuple[str, int], set[str]] = {}
    for entity, record_id, field in rows:
        found.setdefault((entity, int(record_id)), set()).add(field)
    return found


def test_each_bad_record_is_quarantined_with_exactly_its_reasons(
    engine: sa.Engine, config: Config
) -> None:
    add_load(engine, "night1", *corpus())
    # a corpus this dirty would trip the breaker: this test is about the row verdicts
    counts = gate.validate(engine, config, run_id="run1", as_of=AS_OF, override=True)
    staged = extract.stage(engine)

    expected = {("placement", pid): cols for pid, (_, cols, _) in PLACEMENTS.items() if cols}
    assert quarantine(engine) == expected | {
        ("candidate", cid): cols for cid, cols in QUARANTINED_CANDIDATES.items()
    }
    assert findings(engine) == {
        ("placement", pid): fields for pid, (_, _, fields) in PLACEMENTS.items() if fields
    } | {("candidate", cid): fields for cid, (_, fields) in CANDIDATES.items() if fields}
    assert counts["placements_quarantined"] == len(expected)
    assert counts["candidates_quarantined"] == len(QUARANTINED_CANDIDATES)
    assert counts["candidate_email_findings"] == 3 and counts["candidate_phone_findings"] == 1
    # the unmapped picklist values are named, with their counts
    assert counts["placement_unmapped_status[Onboarding]"] == 1
    assert counts["placement_unmapped_status[placed]"] == 1
    assert counts["placement_unmapped_employment_type[Seasonal]"] == 1
    good_placements = {pid for pid, (_, cols, _) in PLACEMENTS.items() if not cols}
    assert ids(engine, "placements", "placement_id") == good_placements
    assert ids(engine, "candidates", "candidate_id") == set(CANDIDATES) - set(
        QUARANTINED_CANDIDATES
    )
    assert staged["placements_staged"] == len(good_placements)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "select status, employment_type, start_date, end_date, owner_email"
                " from staging.placements where placement_id = 101"
            )
        ).one()
        payload = conn.execute(
            sa.text("select payload from quality.quarantine where record_id = '109'")
        ).scalar_one()
        candidates = {
            r.candidate_id: r
            for r in conn.execute(
                sa.text(
                    "select candidate_id, email, mobile_e164, date_of_birth from staging.candidates"
                )
            )
        }
        owner_113 = conn.execute(
            sa.text("select owner_email from staging.placements where placement_id = 113")
        ).scalar_one()
    # good rows pass untouched; the quarantine payload is the version that failed
    assert tuple(row) == tuple(
        GOOD_PLACEMENT[k]
        for k in ("status", "employment_type", "start_date", "end_date", "owner_email")
    )
    assert (json.loads(payload) if isinstance(payload, str) else payload)["status"] == "Onboarding"
    # a field found bad is staged as absent, the record's other fields as they came
    assert owner_113 is None
    assert candidates[1].email == GOOD_CANDIDATE["email"]
    assert candidates[2].email is None and candidates[2].mobile_e164 == "+447700900123"
    assert candidates[5].date_of_birth is None and candidates[5].email == GOOD_CANDIDATE["email"]
    assert candidates[9].email is None and candidates[9].date_of_birth is None


def test_each_chunk_leaves_the_quarantine_statistics_current_on_postgres(
    postgres_warehouse: str, config: Config
) -> None:
    # Postgres does not analyse within a run: planned on the statistics of an empty
    # quarantine, a later chunk compared each quarantine row with the whole judged list
    from aftercare import connections

    engine = connections.warehouse_engine()
    warehouse.migrate(engine)
    add_load(engine, "night1", *corpus())
    chunked = config.model_copy(
        update={"quality": config.quality.model_copy(update={"chunk_rows": 100})}
    )

    gate.validate(engine, chunked, run_id="run1", as_of=AS_OF, override=True)

    with engine.connect() as conn:
        planned, held = conn.execute(
            sa.text(
                "select c.reltuples, (select count(*) from quality.quarantine)"
                " from pg_class as c where c.oid = cast('quality.quarantine' as regclass)"
            )
        ).one()
    engine.dispose()
    assert held > 0
    assert planned == held


def test_a_placement_does_not_wait_for_its_quarantined_candidate(
    engine: sa.Engine, config: Config
) -> None:
    """A candidate in quarantine exists in the ATS: its placement's change still stages."""
    add_load(engine, "night1", {201: GOOD_PLACEMENT}, {1: GOOD_CANDIDATE})
    gate.validate(engine, config, run_id="run1", as_of=AS_OF)
    extract.stage(engine)
    with warehouse.transaction(engine) as conn:
        conn.execute(
            sa.text(
                "insert into quality.quarantine (entity, record_id, load_id, reasons)"
                " values ('candidate', '7', 'night1-candidate', '[]')"
            )
        )
    # night 2: a placement of candidate 7 (quarantined, never staged) is completed
    add_load(
        engine,
        "night2",
        {202: {**GOOD_PLACEMENT, "candidate_id": 7, "status": "Finished"}},
        {},
        mode="incremental",
    )
    gate.validate(engine, config, run_id="run2", as_of=AS_OF)
    extract.stage(engine)

    assert ("placement", 202) not in quarantine(engine)
    assert ids(engine, "placements", "placement_id") == {201, 202}


def test_validation_runs_and_data_docs_are_recorded_without_personal_data(
    engine: sa.Engine, config: Config
) -> None:
    add_load(engine, "night1", *corpus())
    gate.validate(engine, config, run_id="run1", as_of=AS_OF, override=True)

    with engine.connect() as conn:
        runs = {
            row.suite: row
            for row in conn.execute(
                sa.text("select * from quality.validation_runs where run_id = 'run1'")
            )
        }
    assert set(runs) == {"placement_rows", "candidate_rows", "loads"}
    placements = runs["placement_rows"]
    bad = sum(1 for _, cols, _ in PLACEMENTS.values() if cols)
    assert (placements.evaluated, placements.failed, placements.passed) == (
        len(PLACEMENTS),
        bad,
        len(PLACEMENTS) - bad,
    )
    assert placements.failed_share == pytest.approx(bad / len(PLACEMENTS))
    assert not placements.success and not runs["loads"].success
    for row in runs.values():
        page = Path(row.docs_url.removeprefix("file://"))
        assert page.is_file(), row.docs_url
        text = page.read_text()
        assert "ada.lovelace" not in text and "+447700900123" not in text
    assert docs_index(config).is_file()


@pytest.mark.parametrize(("bad", "trips"), [(10, False), (11, True)])
def test_breaker_trips_above_the_threshold_and_not_at_it(
    engine: sa.Engine, config: Config, bad: int, trips: bool
) -> None:
    # 200 placements, `bad` of them with an unknown status: 10 is exactly 5% (not above it)
    total = 200 if not trips else 201
    placements = {
        pid: {**GOOD_PLACEMENT, "status": "Onboarding" if pid <= bad else "Placed"}
        for pid in range(1, total + 1)
    }
    add_load(engine, "night1", placements, {1: GOOD_CANDIDATE})

    if trips:
        with pytest.raises(gate.QualityGateError) as failure:
            gate.validate(engine, config, run_id="run1", as_of=AS_OF)
        message = str(failure.value)
        assert "night1-placement" in message and "quality.quarantine" in message
        assert "5.5%" in message and "override_quality_gate" in message
    else:
        gate.validate(engine, config, run_id="run1", as_of=AS_OF)
    extract.stage(engine)

    # quarantine is written either way; staging moves only when the gate is open
    assert len(quarantine(engine)) == bad
    assert len(ids(engine, "placements", "placement_id")) == (0 if trips else total - bad)

    # the Data Docs' front page gives the gate's verdict apart from the record checks (which
    # GX marks failed whenever a record is quarantined), and loads nothing from elsewhere
    page = docs_index(config).read_text()
    verdict = page.split("<tbody>")[1]
    assert ("closed" in verdict) == trips and ("passed" in verdict) != trips
    assert f"placement_rows: {total} records judged" in verdict
    assert f"{bad} quarantined (held back)" in verdict
    assert not re.search(r"""(src|href)=["']?https?:""", page) and "<script" not in page
    for link in re.findall(r'href="(file://[^"]+)"', verdict):
        assert Path(link.removeprefix("file://")).is_file(), link
    assert len(re.findall(r'href="file://', verdict)) == 3  # the gate's and two checks' pages


def test_a_tripped_run_is_judged_again_and_override_lets_it_through(
    engine: sa.Engine, config: Config
) -> None:
    placements = {pid: {**GOOD_PLACEMENT, "status": "Pending"} for pid in range(1, 21)}
    add_load(engine, "night1", placements, {1: GOOD_CANDIDATE})
    with pytest.raises(gate.QualityGateError):
        gate.validate(engine, config, run_id="run1", as_of=AS_OF)
    with pytest.raises(gate.QualityGateError):
        gate.validate(engine, config, run_id="run1-retry", as_of=AS_OF)
    assert len(quarantine(engine)) == 20  # judged twice, quarantined once

    gate.validate(engine, config, run_id="run2", as_of=AS_OF, override=True)
    extract.stage(engine)
    assert ids(engine, "candidates", "candidate_id") == {1}
    assert ids(engine, "placements", "placement_id") == set()


def test_volume_collapse_of_a_full_refresh_trips_the_breaker(
    engine: sa.Engine, config: Config
) -> None:
    placements = {pid: GOOD_PLACEMENT for pid in range(1, 101)}
    add_load(engine, "night1", placements, {1: GOOD_CANDIDATE})
    gate.validate(engine, config, run_id="run1", as_of=AS_OF)
    extract.stage(engine)

    # a full refresh that returns half the book
    add_load(engine, "night2", {pid: GOOD_PLACEMENT for pid in range(1, 51)}, {1: GOOD_CANDIDATE})
    with pytest.raises(gate.QualityGateError) as failure:
        gate.validate(engine, config, run_id="run2", as_of=AS_OF)
    assert "night2-placement" in str(failure.value)
    assert "volume_share" in str(failure.value)
    assert "night2-candidate" not in str(failure.value).split("Loads:")[1]


def test_incremental_volume_is_judged_against_the_recent_median(
    engine: sa.Engine, config: Config
) -> None:
    config = config.model_copy(
        update={
            "quality": config.quality.model_copy(
                update={
                    "volume": config.quality.volume.model_copy(
                        update={"min_history": 2, "incremental_min_share": 0.5}
                    )
                }
            )
        }
    )
    add_load(engine, "night0", {1: GOOD_PLACEMENT}, {1: GOOD_CANDIDATE})
    gate.validate(engine, config, run_id="run0", as_of=AS_OF)
    extract.stage(engine)
    for night in (1, 2):  # two incremental nights of 40 changes
        rows = {pid: GOOD_PLACEMENT for pid in range(night * 100, night * 100 + 40)}
        add_load(engine, f"night{night}", rows, {1: GOOD_CANDIDATE}, mode="incremental")
        gate.validate(engine, config, run_id=f"run{night}", as_of=AS_OF)
        extract.stage(engine)

    add_load(engine, "night3", {900: GOOD_PLACEMENT}, {1: GOOD_CANDIDATE}, mode="incremental")
    with pytest.raises(gate.QualityGateError) as failure:
        gate.validate(engine, config, run_id="run3", as_of=AS_OF)
    assert "night3-placement" in str(failure.value)
    # the candidates' incremental loads (1 record each night) are at their median
    assert "night3-candidate" not in str(failure.value).split("Loads:")[1]


def test_stale_data_trips_the_breaker(engine: sa.Engine, config: Config) -> None:
    add_load(engine, "night1", {1: GOOD_PLACEMENT}, {1: GOOD_CANDIDATE})
    five_days_on = datetime(2026, 11, 28, 13, tzinfo=UTC)  # newest change: 5 days before
    with pytest.raises(gate.QualityGateError) as failure:
        gate.validate(engine, config, run_id="run1", as_of=five_days_on)
    assert "hours old" in str(failure.value)
    gate.validate(engine, config, run_id="run2", as_of=AS_OF)  # fresh enough a day later


def test_duplicate_ids_fail_the_uniqueness_rule(config: Config) -> None:
    """The staging query yields one version per id; the suite still guards it."""
    frame = pd.DataFrame(
        [
            {
                "placement_id": pid,
                "known_candidate_id": 1,
                "date_last_modified": MODIFIED,
                **GOOD_PLACEMENT,
            }
            for pid in (1, 2, 2)
        ]
    )
    for column in ("start_date", "end_date"):
        frame[column] = pd.to_datetime(frame[column])
    outcome = gate._Project(config).run("placement_rows", frame, "unique")
    assert outcome.reasons == {
        2: [{"expectation": "expect_column_values_to_be_unique", "column": "placement_id"}]
    }
    assert not outcome.success


def test_every_expectation_says_its_rule(config: Config) -> None:
    for build in suites.SUITES.values():
        for expectation in build(config).expectations:
            assert expectation.description, expectation


def test_a_record_that_passes_on_a_later_judgement_leaves_quarantine(
    engine: sa.Engine, config: Config
) -> None:
    placements = {pid: {**GOOD_PLACEMENT, "status": "Onboarding"} for pid in range(1, 21)}
    add_load(engine, "night1", placements, {1: GOOD_CANDIDATE})
    with pytest.raises(gate.QualityGateError):
        gate.validate(engine, config, run_id="run1", as_of=AS_OF)
    assert len(quarantine(engine)) == 20

    # ops learn the ATS has a new status, and add it to the config: the same loads pass now
    statuses = [*config.quality.placement_statuses, "Onboarding"]
    gate.validate(engine, loose(config, placement_statuses=statuses), run_id="run2", as_of=AS_OF)
    extract.stage(engine)

    assert quarantine(engine) == {}
    assert ids(engine, "placements", "placement_id") == set(range(1, 21))


GATE_IMPORT = """
import logging
logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
import aftercare.quality.gate
"""


def test_importing_the_gate_logs_nothing_of_gx_at_info() -> None:
    """A task log starts with the gate's own lines, not hundreds of GX's import notices."""
    import subprocess
    import sys

    logged = subprocess.run(
        [sys.executable, "-c", GATE_IMPORT], capture_output=True, text=True, check=True
    ).stderr
    assert [line for line in logged.splitlines() if line.startswith("great_expectations")] == []
    # the same import without the package's setting logs them (the check can see them)
    unquiet = GATE_IMPORT.replace(
        "import aftercare.quality.gate",
        "import great_expectations\nimport aftercare.quality.gate",
    )
    logged = subprocess.run(
        [sys.executable, "-c", unquiet], capture_output=True, text=True, check=True
    ).stderr
    assert any(line.startswith("great_expectations") for line in logged.splitlines())
