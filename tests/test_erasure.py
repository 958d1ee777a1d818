"""Erasure (DAG aftercare_erasure): a candidate present in every table and file is erased from
all of them through a real DAG run, on DuckDB and Postgres: no column of any table and no file
of the data folders holds their name, email or number after; the ledger's counts are as they
were; Twilio and SendGrid were asked once, a retry asks nothing again; an unknown id is
recorded, not an error; the run's logs and XComs carry no personal data; and the ATS sending
the person back (same id, or a new one with the same email) messages nothing. Plus the
registry (`aftercare.privacy`) against the migrated schema and the config's data folders."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from aftercare import PROJECT_ROOT, extract, plan, privacy, warehouse
from aftercare.ats.base import Page
from aftercare.config import FrequencyCap, load_config
from aftercare.connections import erasure_salt, get_connection
from aftercare.providers.base import VideoPage
from aftercare.providers.factory import Providers
from aftercare.tasks import erasure as erasure_task
from tests import ROOT
from tests.test_dispatch import D, run_dispatch, set_clock, video_pages
from tests.test_plan import candidate, ledger, only, placement

SCHEMAS = ("raw", "staging", "quality", "aftercare", "engagement", "marts")

# the candidate to erase, and another who must keep everything
ZEB = {
    "first_name": "Zebulon",
    "last_name": "Quartermaine",
    "email": "zebulon.quartermaine@example.org",
    "mobile_e164": "+447911123456",
}
ANN = {
    "first_name": "Annabel",
    "last_name": "Otherwise",
    "email": "annabel.otherwise@example.org",
    "mobile_e164": "+447911123457",
}
PERSONAL = (*ZEB.values(), ZEB["mobile_e164"][3:])  # the national digits too


def columns(engine: sa.Engine) -> dict[str, list[str]]:
    """Every table of the warehouse's schemas -> its columns."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select table_schema || '.' || table_name, column_name"
                " from information_schema.columns"
                " where table_schema in ('raw', 'staging', 'quality', 'aftercare', 'engagement',"
                " 'marts') order by 1, ordinal_position"
            )
        ).all()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def test_the_registry_covers_every_personal_column_and_every_data_folder(
    duckdb_warehouse: Path,
) -> None:
    from aftercare.connections import warehouse_engine

    engine = warehouse_engine()
    warehouse.migrate(engine)
    registered = {(t.name, c) for t in privacy.TABLES for c in t.columns}
    personal = {
        (table, column)
        for table, names in columns(engine).items()
        for column in names
        if privacy.PERSONAL_COLUMN.search(column)
    }
    engine.dispose()
    assert personal, "the pattern finds the candidates' columns"
    assert personal <= registered, sorted(personal - registered)
    assert registered <= personal, "registered columns exist"
    # each table a candidate's data lives in is erased; every path of the config is a folder
    assert all(t.erase for t in privacy.TABLES if t.whose == "candidate")
    config = load_config()
    paths = [
        PROJECT_ROOT / config.dispatch.staging_root,
        PROJECT_ROOT / config.quality.gx_project_dir,
        PROJECT_ROOT / config.engagement.report_path,
        PROJECT_ROOT / config.preferences.store_path,
    ]
    folders = [f.path for f in privacy.folders(config)]
    assert all(any(p.is_relative_to(f) for f in folders) for p in paths)
    # and every folder or file the config names: a new one must be registered
    named = [v for v in _strings(config.model_dump(mode="json")) if v.startswith(("data/", "/"))]
    assert all(any((PROJECT_ROOT / v).is_relative_to(f) for f in folders) for v in named), named


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def insert(engine: sa.Engine, table: str, row: dict[str, Any], json_columns: tuple = ()) -> None:
    statement = sa.text(
        f"insert into {table} ({', '.join(row)}) values ({', '.join(':' + k for k in row)})"  # noqa: S608
    ).bindparams(*(sa.bindparam(c, type_=sa.JSON) for c in json_columns))
    with engine.begin() as conn:
        conn.execute(statement, row)


def present_everywhere(engine: sa.Engine, sandbox: Any) -> None:
    """Zebulon (1) and Annabel (2) in every table and file: staged, planned and sent (a text and
    an email to Zebulon, a text to Annabel, through the sandbox), pulled as raw records and
    normalised versions, Zebulon quarantined once and replying by text, and both in a batch file
    left behind, the report and a Data Docs page."""
    config = only(
        "first_day", "review_request", frequency_cap=FrequencyCap(per_day=5, per_7_days=10)
    )
    for who, person in ((1, ZEB), (2, ANN)):
        candidate(engine, who, **person)
        placement(engine, who * 10 + 1, who, start_date=D)  # first day by text
    placement(engine, 12, 1, start_date=date(2026, 9, 28))  # review request by email
    plan.plan(engine, config, D)
    set_clock(sandbox, "2026-11-23T12:00:00Z")
    run_dispatch(engine, config)
    assert {v[0] for v in ledger(engine).values()} == {"sent"}
    now = datetime(2026, 11, 23, 1, tzinfo=UTC)
    for who, person in ((1, ZEB), (2, ANN)):
        record = {
            "id": who,
            "firstName": person["first_name"],
            "lastName": person["last_name"],
            "email": person["email"],
            "mobile": person["mobile_e164"],
        }
        insert(
            engine,
            "raw.candidates",
            {
                "load_id": "l1",
                "page": 1,
                "extracted_at": now,
                "candidate_id": who,
                "date_last_modified_ms": 1,
                "record": record,
            },
            ("record",),
        )
        insert(
            engine,
            "staging.candidate_changes",
            {
                "load_id": "l1",
                "page": 1,
                "candidate_id": who,
                **person,
                "mobile_raw": person["mobile_e164"],
                "time_zone": "Europe/London",
                "email_opt_out": False,
                "sms_opt_in": True,
                "is_anonymized": False,
                "is_deleted": False,
                "date_last_modified": now,
            },
        )
    insert(
        engine,
        "quality.quarantine",
        {
            "entity": "candidate",
            "record_id": "1",
            "load_id": "l0",
            "reasons": ["bad"],
            "payload": {"email": ZEB["email"], "first_name": ZEB["first_name"]},
            "released_at": now,  # a valid version arrived since
        },
        ("reasons", "payload"),
    )
    [sms] = [v for k, v in ledger(engine).items() if k == "first_day:placement:11:1"]
    insert(
        engine,
        "engagement.responses",
        {
            "response_id": "SMreply0000000000000000000000000a",
            "candidate_id": 1,
            "kind": "reply",
            "occurred_at": now,
            "touchpoint_id": "first_day:placement:11:1",
            "detail": {},
        },
        ("detail",),
    )
    folders = {f.name: f.path for f in privacy.folders(load_config())}
    left = folders["dispatch staging"] / "left-behind" / "sms-0001.jsonl"
    left.parent.mkdir(parents=True, exist_ok=True)
    left.write_text(
        "".join(json.dumps({"candidate_id": w, **p}) + "\n" for w, p in ((1, ZEB), (2, ANN)))
    )
    report = folders["report"] / "erasure-test.html"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(f"<p>{ZEB['first_name']} {ZEB['last_name']}, {ANN['email']}</p>")
    docs = folders["GX project"] / "erasure-test.html"
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(f"<td>{ZEB['mobile_e164']}</td>")
    assert sms[0] == "sent"


def scan_tables(engine: sa.Engine) -> str:
    """Every value of every column of every table, as one text."""
    texts = []
    with engine.connect() as conn:
        for table in columns(engine):
            for row in conn.execute(sa.text(f"select * from {table}")).all():  # noqa: S608
                texts.append(" ".join(str(v) for v in row))
    return "\n".join(texts)


def scan_files() -> str:
    texts = []
    for folder in privacy.folders(load_config()):
        for path in folder.path.rglob("*") if folder.path.is_dir() else []:
            if path.is_file():
                texts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(texts)


def admin(sandbox: Any, path: str) -> list[dict[str, Any]]:
    return requests.get(f"{sandbox.url}/sandbox/{path}", timeout=10).json()["data"]


def ledger_counts(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "select touchpoint_id, candidate_id, milestone, channel, status, reason, sent_at,"
                " provider_message_id from aftercare.touchpoints order by 1"
            )
        ).all()


def erase_by_dag(ids: list[int]) -> tuple[dict[str, Any], Any]:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DagRunState

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["aftercare_erasure"]
    run = dag.test(
        logical_date=datetime(2026, 11, 24, 4, tzinfo=UTC), run_conf={"candidate_ids": ids}
    )
    [erase] = [ti for ti in run.get_task_instances() if ti.task_id == "erase_candidates"]
    assert (run.state, erase.state) == (DagRunState.SUCCESS, "success")
    return erase.xcom_pull(task_ids="erase_candidates"), run


@pytest.mark.e2e
def test_a_candidate_present_everywhere_is_erased_from_every_table_and_file(
    airflow_db: None,
    warehouse_engine: sa.Engine,
    provider_connections: Any,
    preferences_service: Any,
    capfd: pytest.CaptureFixture,
) -> None:
    engine, sandbox = warehouse_engine, provider_connections
    warehouse.migrate(engine)
    present_everywhere(engine, sandbox)
    # and a video page each at the preferences service (names in its store)
    pages = Providers(load_config(), "video", get_connection).video
    for who, person in ((1, ZEB), (2, ANN)):
        pages.publish(VideoPage(f"tp-{who}", who, "referral_ask", person["first_name"], "Chef",
                                "Northwind", "Sam", "https://media.demo-recruitment.example/a.mp4",
                                "file", None, None, None))  # fmt: skip
    # Sendspark renders: Zeb asked for in two campaigns (twice in one), one never asked for
    # (it fell back), Ann's once
    with engine.begin() as conn:
        for touchpoint, who, campaign, asked in (
            ("tp-r1", 1, "referral_ask", True),
            ("tp-r2", 1, "work_anniversary", True),
            ("tp-r3", 1, "work_anniversary", True),
            ("tp-r4", 1, "first_day", False),
            ("tp-r5", 2, "referral_ask", True),
        ):
            conn.execute(
                sa.text(
                    "insert into aftercare.video_renders (touchpoint_id, candidate_id,"
                    " milestone, campaign, state, requested_at) values (:t, :c, :m, :m,"
                    " :state, :at)"
                ),
                {
                    "t": touchpoint,
                    "c": who,
                    "m": campaign,
                    "state": "requested" if asked else "fallback",
                    "at": "2026-11-20T02:00:00+00:00" if asked else None,
                },
            )
    assert all(value in scan_tables(engine) + scan_files() for value in PERSONAL)
    sids = {r[7] for r in ledger_counts(engine) if r[1] == 1 and r[3] == "sms"}
    before = ledger_counts(engine)
    engine.dispose()  # the DAG's task opens the warehouse itself
    capfd.readouterr()

    counts, _ = erase_by_dag([1, 999])

    tables, files = scan_tables(engine), scan_files()
    for value in PERSONAL:
        assert value not in tables, value
        assert value not in files, value
    for value in ANN.values():  # erasure is the one candidate's
        assert value in tables
    assert ANN["email"] in files and ANN["first_name"] in files
    assert ledger_counts(engine) == before
    deleted = admin(sandbox, "twilio/deletions")
    assert sorted(d["sid"] for d in deleted) == sorted(sids | {"SMreply0000000000000000000000000a"})
    assert admin(sandbox, "sendgrid/erase-jobs")[0]["email_addresses"] == [ZEB["email"]]
    assert (counts["erased"], counts["unknown"], counts["texts_deleted"]) == (1, 1, 2)
    assert counts["video_pages_erased"] == 1
    assert counts["sendspark_prospects"] == 2  # left in Sendspark, whose API deletes none
    assert video_pages(preferences_service) == ["tp-2"]
    with engine.connect() as conn:
        audit = conn.execute(
            sa.text("select source, candidates, erased, unknown from aftercare.erasure_requests")
        ).all()
        outcomes = dict(
            conn.execute(sa.text("select candidate_id, outcome from aftercare.erasures")).all()
        )
    assert [tuple(a) for a in audit] == [("request", 2, 1, 1)]
    assert outcomes == {1: "erased", 999: "unknown"}
    logs = capfd.readouterr()
    assert "erase_candidates" in logs.out + logs.err  # the task's log was captured
    for value in PERSONAL:
        assert value not in logs.out + logs.err
        assert value not in json.dumps(counts)

    # another request for the same person (the task's body, as a retry runs it) asks the
    # providers nothing again
    again = erasure_task.erase(
        candidate_ids=[1], run_id="again", requested_by="dpo", requested_at=datetime.now(UTC)
    )
    assert (again["erased"], again.get("texts_deleted"), again.get("addresses_erased")) == (1, 0, 0)
    assert again["video_pages_erased"] == 0
    assert len(admin(sandbox, "twilio/deletions")) == len(deleted)
    assert len(admin(sandbox, "sendgrid/erase-jobs")) == 1

    # the ATS sends the person back: under their id with a new placement, and under a new id
    # with the same email; nothing is stored of them, nothing is planned for them
    reimport(engine, [_record(1, ZEB), _record(3, ZEB | {"mobile_e164": "+447911123458"})])
    placement(engine, 13, 1, start_date=date(2026, 11, 24))
    # staged as a new candidate (its number is new too): planning knows it as erased
    candidate(engine, 3, email=None, mobile_e164="+447911123458")
    placement(engine, 31, 3, start_date=date(2026, 11, 24))
    plan.plan(engine, load_config(), date(2026, 11, 24))
    new = {k: v[:2] for k, v in ledger(engine).items() if k.endswith((":13:1", ":31:1"))}
    assert new == {
        "first_day:placement:13:1": ("suppressed", "candidate_removed"),
        "first_day:placement:31:1": ("suppressed", "candidate_removed"),
    }
    tables = scan_tables(engine)
    for value in PERSONAL:
        assert value not in tables, value


def _record(candidate_id: int, person: dict[str, str]) -> dict[str, Any]:
    return {
        "id": candidate_id,
        "firstName": person["first_name"],
        "lastName": person["last_name"],
        "email": person["email"],
        "mobile": person["mobile_e164"],
        "dateLastModified": 1_795_000_000_000 + candidate_id,
    }


def reimport(engine: sa.Engine, records: list[dict[str, Any]]) -> None:
    """One pull of these candidate records, as the ATS would send them."""

    class Ats:
        def countries(self) -> dict[int, str]:
            return {}

        def changes(self, entity: str, after: Any) -> Any:
            yield Page(entity, 1, records, json.dumps({"data": records}))

    extract.pull(
        engine,
        Ats(),
        load_config(),
        "Candidate",
        full=False,
        run_id="again",
        erasure_salt=erasure_salt,
    )


def test_sendgrid_takes_erase_jobs_of_at_most_5000_and_twilio_deletes_a_message_once(
    duckdb_warehouse: Path, provider_connections: Any
) -> None:
    """The sandbox's contracts (the real APIs'), and erasure's batching: 5,001 addresses are two
    jobs, asked once; a deleted text is gone, and deleting it again is a 404."""
    from aftercare.connections import get_connection, warehouse_engine
    from aftercare.privacy.erasure import Identity, _ask_sendgrid
    from aftercare.providers.factory import Providers

    sandbox = provider_connections
    config = load_config()
    sendgrid = Providers(config, "email", get_connection).email
    twilio = Providers(config, "sms", get_connection).sms
    url = f"{sandbox.url}/sendgrid/v3/recipients/erasejob"
    key = {"Authorization": f"Bearer {get_connection('aftercare_email').password}"}
    for body in ({"email_addresses": []}, {"email_addresses": ["a@x.org"] * 5001}, {}):
        assert requests.post(url, json=body, headers=key, timeout=10).status_code == 400
    with pytest.raises(ValueError, match="1 to 5000"):
        sendgrid.erase([f"{n}@x.org" for n in range(5001)])

    engine = warehouse_engine()
    warehouse.migrate(engine)
    many = {7: Identity(set(), {f"p{n}@example.org" for n in range(5001)}, set())}
    hasher = privacy.Hasher(erasure_salt())
    assert _ask_sendgrid(engine, hasher, sendgrid, many) == 5001
    assert _ask_sendgrid(engine, hasher, sendgrid, many) == 0  # asked once
    engine.dispose()
    jobs = admin(sandbox, "sendgrid/erase-jobs")
    assert sorted(len(j["email_addresses"]) for j in jobs) == [1, 5000]

    sid = twilio.send("+447911123456", "hello")
    assert (twilio.delete(sid), twilio.delete(sid)) == (True, False)
    assert [d["status"] for d in admin(sandbox, "twilio/deletions")] == [204, 404]
    assert not [m for m in twilio.messages({"To": "+447911123456"}) if m["sid"] == sid]
