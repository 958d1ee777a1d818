"""The extract stage against the sandbox ATS, on DuckDB and Postgres: raw pages, watermark,
staging upsert through the quality gate (faulty records quarantined, fixed ones released),
deletion sweep, killed and bad pulls."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from aftercare import extract, warehouse
from aftercare.ats import bullhorn
from aftercare.ats.base import ORIGIN, AtsDataError, AtsError, Cursor
from aftercare.ats.bullhorn import BullhornAts
from aftercare.ats.normalise import Normaliser
from aftercare.config import Config, load_config
from aftercare.quality import gate
from sandbox import SandboxServer, SandboxSettings
from sandbox.ats.settings import AtsSandboxSettings
from tests import expected_candidate, expected_placement, placement_faults
from tests.test_ats_client import admin, credentials, truth, truth_ids

ATS = AtsSandboxSettings(placements=400, dirty_share=0.05)


@pytest.fixture
def world() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(seed=11, ats=ATS)) as server:
        yield server


@pytest.fixture
def config(tmp_path: Path) -> Config:
    base = load_config()
    return base.model_copy(
        update={
            "ats": base.ats.model_copy(update={"page_size": 60}),
            "quality": base.quality.model_copy(update={"gx_project_dir": tmp_path / "gx"}),
        }
    )


@pytest.fixture
def engine(warehouse_engine: sa.Engine) -> sa.Engine:
    warehouse.migrate(warehouse_engine)
    return warehouse_engine


def client(server: SandboxServer, config: Config) -> BullhornAts:
    return BullhornAts(credentials(server.url, ATS), config.ats)


def scalar(engine: sa.Engine, query: str, **params: object) -> object:
    with engine.connect() as conn:
        return conn.execute(sa.text(query), params).scalar()


def load_everything(engine: sa.Engine, server: SandboxServer, config: Config, **kw: object) -> dict:
    ats = client(server, config)
    counts = {}
    for entity in ("Placement", "Candidate"):
        counts |= extract.pull(engine, ats, config, entity, full=False, run_id="t", **kw)
    return counts | validate_and_stage(engine, config)


def validate_and_stage(engine: sa.Engine, config: Config) -> dict:
    # the breaker is test_quality's subject: here every valid record must reach staging
    as_of = datetime.combine(ATS.clock_start, time(2), tzinfo=UTC)
    gate.validate(engine, config, run_id="t", as_of=as_of, override=True)
    return extract.stage(engine)


def test_first_load_stages_the_truth(
    engine: sa.Engine, world: SandboxServer, config: Config
) -> None:
    counts = load_everything(engine, world, config)

    placements = truth(world, "Placement")
    expected = {p["id"]: expected_placement(p, config) for p in placements}
    candidate_ids = {c["id"] for c in truth(world, "Candidate")}
    records = {p["id"]: p for p in placements}
    valid = {
        pid
        for pid, row in expected.items()
        if not placement_faults(row, records[pid], candidate_ids, config)
    }
    assert counts["placements_pulled"] == len(placements)
    assert scalar(engine, "select count(*) from raw.placements") == len(placements)
    with engine.connect() as conn:
        staged = {
            row.placement_id: row
            for row in conn.execute(
                sa.text(
                    "select placement_id, status, employment_class,"
                    " cast(start_date as varchar) as start_date from staging.placements"
                )
            )
        }
        quarantined = {
            int(row[0])
            for row in conn.execute(
                sa.text("select record_id from quality.quarantine where entity = 'placement'")
            )
        }
    assert set(staged) == valid
    assert quarantined == set(expected) - valid
    assert quarantined, "the sandbox's dirty share should include faulty placements"
    for pid in valid:
        assert staged[pid].status == expected[pid]["status"]
        assert staged[pid].employment_class == expected[pid]["employment_class"]
        assert staged[pid].start_date == expected[pid]["start_date"]
    # candidates: every one staged, each field that fails its rule absent (a finding), the
    # country, mobile and date of birth right whatever shape the ATS served them in
    first_starts: dict[int, str] = {}
    for row in expected.values():
        if row["start_date"] and row["candidate_id"]:
            first = first_starts.get(row["candidate_id"], row["start_date"])
            first_starts[row["candidate_id"]] = min(first, row["start_date"])
    stored = {c["id"]: c for c in truth(world, "Candidate", stored=True)}
    wanted = {
        c["id"]: expected_candidate(
            c, stored[c["id"]], first_starts.get(c["id"]), config, str(ATS.clock_start)
        )
        for c in truth(world, "Candidate")
    }
    with engine.connect() as conn:
        got = {
            row.candidate_id: row._asdict()
            for row in conn.execute(
                sa.text(
                    "select candidate_id, email, mobile_e164, country_code,"
                    " cast(date_of_birth as varchar) as date_of_birth from staging.candidates"
                )
            )
        }
        found: dict[int, set[str]] = {}
        for record_id, field in conn.execute(
            sa.text(
                "select record_id, field from quality.field_findings where entity = 'candidate'"
            )
        ):
            found.setdefault(int(record_id), set()).add(field)
        candidates_quarantined = scalar(
            engine, "select count(*) from quality.quarantine where entity = 'candidate'"
        )
    assert candidates_quarantined == 0
    assert set(got) == set(wanted)
    fields = ("email", "mobile_e164", "country_code", "date_of_birth")
    assert {cid: {f: got[cid][f] for f in fields} for cid in got} == {
        cid: {f: want[f] for f in fields} for cid, want in wanted.items()
    }
    assert found == {cid: want["findings"] for cid, want in wanted.items() if want["findings"]}
    assert found, "the sandbox's dirty share should include bad contact fields"


def test_candidate_changes_hold_every_normalised_field(
    engine: sa.Engine, world: SandboxServer, config: Config
) -> None:
    """What staging.candidate_changes holds is the normaliser's row, field for field (the
    insert reads each row of its json array once, into typed columns; the dates of birth it
    makes from epoch ms are checked against the oracle in the test above)."""
    ats = client(world, config)
    extract.pull(engine, ats, config, "Candidate", full=True, run_id="t")

    normalise = Normaliser(config, extract.refresh_countries(engine, ats)).candidate
    pages = list(ats.changes("Candidate", ORIGIN))
    wanted = {
        (page.number, record["id"]): normalise(record) for page in pages for record in page.records
    }
    for row in wanted.values():
        row["date_of_birth"] = row["date_of_birth"] is not None
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select * from staging.candidate_changes")).mappings().all()
    got = {}
    for row in rows:
        fields = {name: row[name] for name in next(iter(wanted.values()))}
        for name in ("date_added", "date_last_modified"):  # stored from the epoch ms sent
            fields[name] = fields[name] and round(fields[name].timestamp() * 1000)
        fields["date_of_birth"] = fields["date_of_birth"] is not None
        got[(row["page"], row["candidate_id"])] = fields
    assert got == wanted
    assert any(w["referred_by_candidate_id"] for w in wanted.values())
    assert any(w["mobile_raw"] and not w["mobile_e164"] for w in wanted.values())


def test_next_day_pulls_only_changes_and_overlap_is_deduplicated(
    engine: sa.Engine, world: SandboxServer, config: Config
) -> None:
    load_everything(engine, world, config)
    mark = scalar(
        engine, "select date_last_modified_ms from raw.watermarks where entity = 'Placement'"
    )
    admin(world, "POST", "clock/advance", params={"days": 1})

    counts = load_everything(engine, world, config)

    placements = truth(world, "Placement")
    overlap_ms = int(config.ats.overlap_minutes * 60_000)
    changed = [p for p in placements if p["dateLastModified"] >= mark - overlap_ms]
    assert counts["placements_pulled"] == len(changed)
    assert 0 < len(changed) < len(placements) / 4
    # the overlap window fetched some rows again: raw has them twice, staging once
    assert scalar(engine, "select count(*) - count(distinct placement_id) from raw.placements") > 0
    # every staged placement is the sandbox's latest version
    with engine.connect() as conn:
        staged = dict(
            conn.execute(
                sa.text("select placement_id, status from staging.placements where not is_deleted")
            ).all()
        )
    latest = {p["id"]: p["status"] for p in placements}
    assert all(latest[pid] == status for pid, status in staged.items() if pid in latest)
    assert scalar(engine, "select count(distinct placement_id) = count(*) from staging.placements")


def test_rerun_with_nothing_new_changes_nothing(
    engine: sa.Engine, world: SandboxServer, config: Config
) -> None:
    load_everything(engine, world, config)
    before = scalar(engine, "select count(*) from staging.placements")
    fingerprint = "select sum(hash(placement_id, status)) from staging.placements"
    if engine.dialect.name == "postgresql":
        fingerprint = "select sum(hashtext(placement_id || status)) from staging.placements"
    first = scalar(engine, fingerprint)

    load_everything(engine, world, config)

    assert scalar(engine, "select count(*) from staging.placements") == before
    assert scalar(engine, fingerprint) == first


def test_bad_page_stops_the_pull_and_keeps_the_watermark(
    engine: sa.Engine, world: SandboxServer, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bullhorn, "_PREFETCH_PAGES", 1)  # at most two pages in flight
    ats = client(world, config)

    class Breaking:
        """Lets two pages through, then the ATS starts sending truncated bodies."""

        def changes(self, entity, after):  # noqa: ANN001, ANN202
            for page in ats.changes(entity, after):
                yield page
                if page.number == 1:
                    admin(world, "PUT", "faults", json={"share_truncated": 1.0})

    switching = sys.getswitchinterval()
    with pytest.raises(AtsDataError, match="ATS Placement page") as caught:
        extract.pull(engine, Breaking(), config, "Placement", full=False, run_id="t")
    assert sys.getswitchinterval() == switching  # the pull's 1 ms is the process's no longer

    with engine.connect() as conn:
        stored = conn.execute(
            sa.text(
                "select date_last_modified_ms, placement_id from raw.placements"
                " order by date_last_modified_ms, placement_id"
            )
        ).all()
        mark = conn.execute(
            sa.text(
                "select date_last_modified_ms, record_id from raw.watermarks"
                " where entity = 'Placement'"
            )
        ).one()
    # pages fetched ahead before the faults began made it; the first truncated one stops us
    assert 2 <= caught.value.page <= 4
    assert len(stored) == (caught.value.page - 1) * config.ats.page_size
    assert tuple(mark) == tuple(stored[-1])

    # the ATS recovers: the next pull resumes after the watermark and staging gets everything
    admin(world, "PUT", "faults", json={})
    extract.pull(engine, ats, config, "Placement", full=False, run_id="t2")
    assert scalar(engine, "select count(distinct placement_id) from raw.placements") == len(
        truth_ids(world, "Placement")
    )


def test_killed_pull_is_staged_and_resumed(
    monkeypatch: pytest.MonkeyPatch, engine: sa.Engine, world: SandboxServer, config: Config
) -> None:
    ats = client(world, config)

    class Killed(Exception):
        pass

    class DiesAfterTwoPages:
        def changes(self, entity, after):  # noqa: ANN001, ANN202
            for page in ats.changes(entity, after):
                yield page
                if page.number == 2:
                    raise Killed

    monkeypatch.setattr(extract, "_BATCH_RECORDS", 1)  # every page stored as it comes
    with pytest.raises(Killed):
        extract.pull(engine, DiesAfterTwoPages(), config, "Placement", full=False, run_id="t")
    stored = scalar(engine, "select count(*) from raw.placements")
    assert stored == 2 * config.ats.page_size  # the pages before the kill are kept
    mark = scalar(engine, "select date_last_modified_ms from raw.watermarks")
    extract.pull(engine, ats, config, "Placement", full=False, run_id="t2")
    # the second pull resumed from the watermark (less the overlap), not from the start
    overlap_ms = int(config.ats.overlap_minutes * 60_000)
    assert scalar(engine, "select after_ms from raw.loads where run_id = 't2'") == mark - overlap_ms
    validate_and_stage(engine, config)

    pulled = scalar(engine, "select count(distinct placement_id) from raw.placements")
    assert pulled == len(truth_ids(world, "Placement"))
    assert scalar(engine, "select count(*) from raw.loads where staged_at is null") == 0


def test_full_refresh_starts_from_the_origin(
    engine: sa.Engine, world: SandboxServer, config: Config
) -> None:
    load_everything(engine, world, config)
    counts = extract.pull(engine, client(world, config), config, "Placement", full=True, run_id="f")

    assert counts["placements_pulled"] == len(truth_ids(world, "Placement"))
    assert (
        scalar(engine, "select after_ms from raw.loads where run_id = 'f'")
        == ORIGIN.date_last_modified_ms
    )


def test_sweep_flags_deleted_placements(
    engine: sa.Engine, world: SandboxServer, config: Config
) -> None:
    load_everything(engine, world, config)
    gone = scalar(engine, "select min(placement_id) from staging.placements")
    requests.delete(
        f"{world.url}/sandbox/ats/records/Placement/{gone}", timeout=5
    ).raise_for_status()

    counts = extract.sweep(engine, client(world, config), run_id="s")

    assert counts["placements_deleted"] == 1
    assert scalar(
        engine, "select is_deleted from staging.placements where placement_id = :p", p=gone
    )
    assert scalar(engine, "select count(*) from staging.placements where is_deleted") == 1


def test_sweep_refuses_a_suspiciously_short_listing(
    engine: sa.Engine, world: SandboxServer, config: Config
) -> None:
    load_everything(engine, world, config)

    class Empty:
        def placement_ids(self):  # noqa: ANN202
            yield [1]

    with pytest.raises(AtsError, match="refusing to flag the rest deleted"):
        extract.sweep(engine, Empty(), run_id="s")
    assert scalar(engine, "select count(*) from staging.placements where is_deleted") == 0


def test_cursor_rewind() -> None:
    assert Cursor(10_000, 7).rewound(600) == Cursor(9_400, -1)
    assert ORIGIN.rewound(600) == ORIGIN


def test_fixed_records_leave_quarantine_and_a_broken_one_keeps_its_staged_version(
    engine: sa.Engine, world: SandboxServer, config: Config
) -> None:
    load_everything(engine, world, config)
    broken = int(
        scalar(
            engine,
            "select min(record_id) from quality.quarantine where entity = 'placement'"
            " and cast(reasons as varchar) like '%end_date%'",
        )
    )
    bad_email = int(
        scalar(
            engine,
            "select min(record_id) from quality.field_findings where entity = 'candidate'"
            " and field = 'email'",
        )
    )
    assert (
        scalar(engine, "select email from staging.candidates where candidate_id = :c", c=bad_email)
        is None
    )
    good = int(scalar(engine, "select min(placement_id) from staging.placements"))
    begin = next(p for p in truth(world, "Placement") if p["id"] == good)["dateBegin"]
    admin(world, "PATCH", f"records/Placement/{broken}", json={"dateEnd": None})  # fixed
    admin(world, "PATCH", f"records/Candidate/{bad_email}", json={"email": "fixed@example.org"})
    admin(world, "PATCH", f"records/Placement/{good}", json={"dateEnd": begin - 86_400_000})

    counts = load_everything(engine, world, config)

    assert counts["records_released"] == 1
    # the fixed field is staged: its finding was about the version before
    assert (
        scalar(engine, "select email from staging.candidates where candidate_id = :c", c=bad_email)
        == "fixed@example.org"
    )
    assert scalar(
        engine,
        "select released_at is not null from quality.quarantine"
        " where entity = 'placement' and record_id = :r",
        r=str(broken),
    )
    assert (
        scalar(engine, "select count(*) from staging.placements where placement_id = :p", p=broken)
        == 1
    )
    # the newly broken version is quarantined; staging keeps the version it had
    assert scalar(
        engine,
        "select end_date is null or end_date >= start_date from staging.placements"
        " where placement_id = :p",
        p=good,
    )
    assert (
        scalar(
            engine,
            "select count(*) from quality.quarantine where record_id = :r and released_at is null",
            r=str(good),
        )
        == 1
    )
