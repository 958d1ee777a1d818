"""The ops console (plugins/aftercare_console.py, aftercare.console) as the api-server serves it:
Airflow's own app (`create_app()`, the plugin loaded from the plugins folder) under FastAPI's
TestClient, with SimpleAuthManager users logged in through Airflow's login endpoint, over the
hand-made warehouse of the ops-read tests (tests/test_ops_read.py): what each kind of user may
see and do, the pages' numbers against that ledger (DuckDB's snapshot and live Postgres), the
actions as runs of aftercare_ops, escaping, and the look-up's audit trail."""

from __future__ import annotations

import html
import json
import re
from argparse import Namespace
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from aftercare import warehouse
from aftercare.config import load_config
from aftercare.console import URL_PREFIX
from aftercare.console.pages import LOOKUP_EVENT
from aftercare.names import OPS_DAG
from tests.test_ops_read import (
    CANDIDATES,
    DAY,
    IN_SET,
    NIGHTLY_RUN,
    NOW,
    QUARANTINE,
    TOUCHPOINTS,
    at,
    fill,
)

ORIGIN = "http://testserver"
HOSTILE = "<script>alert('x')</script>"
#: the console's pages (GET), as a viewer opens them
PAGES = [
    "/",
    f"/?day={DAY}",
    f"/touchpoints?day={DAY}&status=sent",
    "/failures",
    "/candidates",
    "/candidates/1",
    "/quarantine",
    f"/quarantine?reason={IN_SET['expectation']}&field=status",
    "/milestones",
    f"/runs/aftercare_nightly/{NIGHTLY_RUN}",
    "/runs/some_other_dag/manual__1",
    "/report",
]


# --------------------------------------------------------------------------------------------
# Airflow's app with the plugin, its users, and a hand-made warehouse


def _make(url: sa.URL) -> None:
    """The ops-read tests' warehouse, plus a candidate whose name is markup."""
    engine = warehouse.create_engine(url)
    try:
        warehouse.migrate(engine)
        fill(engine)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "insert into staging.candidates (candidate_id, first_name, last_name, "
                    "date_last_modified, load_id) values (66, :name, :name, :at, 'L0')"
                ),
                {"name": HOSTILE, "at": at(-1)},
            )
        warehouse.publish_snapshot(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def airflow_app(airflow_db: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The api-server's app with a viewer and an editor (SimpleAuthManager roles viewer and
    user), the DAGs serialized (the actions trigger aftercare_ops), and the warehouse
    connection on a filled DuckDB warehouse whose snapshot is published."""
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from airflow.cli.commands.dag_command import dag_reserialize

    path = tmp_path_factory.mktemp("console") / "warehouse.duckdb"
    _make(sa.URL.create("duckdb", database=str(path)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "viewer:viewer,editor:user")
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
        connection = {"conn_type": "duckdb", "host": str(path)}
        patch.setenv("AIRFLOW_CONN_AFTERCARE_WAREHOUSE", json.dumps(connection))
        dag_reserialize(Namespace(bundle_name=None))
        _nightly_run()
        purge_cached_app()
        app = create_app()
        console_app(app).state.clock = lambda: NOW
        console_app(app).state.pipeline_clock = lambda: NOW
        yield app
        purge_cached_app()


def _nightly_run() -> None:
    """The Airflow run of the hand-made warehouse's nightly run (for its tab), and no other run
    of the nightly or ops DAGs: the module's setup may run twice in one worker (pytest-xdist's
    worksteal can hand it this module's tests in two goes), on the one metadata DB."""
    from airflow.models.dagbag import DBDagBag
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    with create_session() as session:
        session.execute(sa.delete(DagRun).where(DagRun.dag_id.in_(["aftercare_nightly", OPS_DAG])))
        dag = DBDagBag().get_latest_version_of_dag("aftercare_nightly", session=session)
        dag.create_dagrun(
            run_id=NIGHTLY_RUN,
            logical_date=at(0, 2),
            data_interval=(at(0, 2), at(0, 2)),
            run_after=at(0, 2),
            run_type=DagRunType.SCHEDULED,
            triggered_by=DagRunTriggeredByType.TEST,
            state=DagRunState.SUCCESS,
            start_date=at(0, 2),
            session=session,
        )


def console_app(app: FastAPI) -> FastAPI:
    """The console's app, as the api-server mounted it."""
    return next(route.app for route in app.routes if getattr(route, "path", "") == URL_PREFIX)


def client(app: FastAPI, user: str | None) -> TestClient:
    """A browser of ``user`` (None: anonymous), logged in as the UI logs in: the JWT from
    Airflow's login endpoint in the UI's cookie."""
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    browser = TestClient(app, base_url=ORIGIN)
    if user is not None:
        password = SimpleAuthManager.get_passwords()[user]
        answer = browser.post("/auth/token", json={"username": user, "password": password})
        assert answer.status_code == 201, answer.text
        browser.cookies.set("_token", answer.json()["access_token"])
    return browser


@pytest.fixture(scope="module")
def viewer(airflow_app: FastAPI) -> TestClient:
    return client(airflow_app, "viewer")


@pytest.fixture(scope="module")
def editor(airflow_app: FastAPI) -> TestClient:
    return client(airflow_app, "editor")


def ops_runs() -> list[dict]:
    """The runs of aftercare_ops in Airflow's metadata: conf and triggering user."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.scalars(select_runs(DagRun))
        return [
            {"conf": run.conf, "user": run.triggering_user_name, "state": str(run.state)}
            for run in runs
        ]


def select_runs(model: type) -> sa.Select:
    return sa.select(model).where(model.dag_id == OPS_DAG).order_by(model.id)


def post(browser: TestClient, path: str, data: dict, **headers: str) -> object:
    headers = {"Origin": ORIGIN, **headers}
    return browser.post(URL_PREFIX + path, data=data, headers=headers, follow_redirects=False)


def text(answer: object) -> str:
    assert answer.status_code == 200, answer.text[:2000]
    return answer.text


# --------------------------------------------------------------------------------------------
# auth


def test_anonymous_gets_401_on_every_route(airflow_app: FastAPI) -> None:
    anonymous = client(airflow_app, None)
    routes = [route for route in console_app(airflow_app).routes if hasattr(route, "methods")]
    assert len(routes) >= 12  # the pages and the actions
    for route in routes:
        path = re.sub(r"{[^}]+}", "x", route.path)
        for method in route.methods:
            answer = anonymous.request(method, URL_PREFIX + path, headers={"Origin": ORIGIN})
            assert answer.status_code == 401, (method, path, answer.status_code)


def test_a_viewer_reads_every_page_but_cannot_act(viewer: TestClient) -> None:
    before = ops_runs()
    for page in PAGES:
        assert viewer.get(URL_PREFIX + page).status_code == 200, page
    actions = [
        ("/milestones/first_day/pause", {"comment": "typo"}),
        ("/milestones/check_in/resume", {"comment": "fixed"}),
        ("/quarantine/record", {"entity": "Placement", "record_id": "900", "load_id": "L1"}),
        ("/quarantine/reason", {"reason": IN_SET["expectation"], "comment": "mapped now"}),
    ]
    for path, data in actions:
        answer = post(viewer, path, {"comment": "x", **data})
        assert answer.status_code == 403, (path, answer.text)
    assert ops_runs() == before
    # and is offered no action
    for page in ("/milestones", "/quarantine"):
        assert 'method="post"' not in text(viewer.get(URL_PREFIX + page))


def test_contact_details_only_for_users_who_may_act(viewer: TestClient, editor: TestClient) -> None:
    email, mobile = CANDIDATES[2]
    shown = text(editor.get(URL_PREFIX + "/candidates/2"))
    assert email in shown and mobile in shown
    masked = text(viewer.get(URL_PREFIX + "/candidates/2"))
    assert email not in masked and mobile not in masked
    assert "hidden (needs edit permission" in masked
    assert "First2" in masked  # the rest of the page is there


def test_an_editor_pauses_and_resumes_through_aftercare_ops(editor: TestClient) -> None:
    before = len(ops_runs())
    answer = post(editor, "/milestones/first_day/pause", {"comment": "  typo in the template "})
    assert answer.status_code == 303
    assert answer.headers["location"] == URL_PREFIX + "/milestones"
    answer = post(editor, "/milestones/check_in/resume", {"comment": "link fixed"})
    assert answer.status_code == 303
    runs = ops_runs()[before:]
    assert [(r["conf"]["kind"], r["conf"]["target"], r["conf"]["comment"]) for r in runs] == [
        ("pause", "first_day", "typo in the template"),
        ("resume", "check_in", "link fixed"),
    ]
    assert all(r["user"] == "editor" and r["conf"]["requested_by"] == "editor" for r in runs)
    assert all(r["state"] == "queued" for r in runs)
    # the page shows them pending until aftercare_ops has applied them
    page = text(editor.get(URL_PREFIX + "/milestones"))
    assert page.count('<span class="state pending">pending</span> pause asked by editor') == 1
    assert "typo in the template" in page


def test_an_editor_asks_to_judge_again(editor: TestClient) -> None:
    before = len(ops_runs())
    record = {"entity": "Placement", "record_id": "900", "load_id": "L1", "comment": "fixed"}
    assert post(editor, "/quarantine/record", record).status_code == 303
    reason = {"reason": IN_SET["expectation"], "field": "status", "comment": "status mapped"}
    answer = post(editor, "/quarantine/reason", reason)
    assert answer.status_code == 303
    assert urlsplit(answer.headers["location"]).path == URL_PREFIX + "/quarantine"
    assert [(r["conf"]["kind"], r["conf"]["target"]) for r in ops_runs()[before:]] == [
        ("rejudge", "record:Placement/900/L1"),
        ("rejudge", f"reason:{IN_SET['expectation']}/status"),
    ]
    page = text(editor.get(URL_PREFIX + "/quarantine"))
    assert "record:Placement/900/L1" in page and "status mapped" in page


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/milestones/first_day/pause", {"comment": "   "}),  # a comment is required
        ("/milestones/first_day/pause", {}),
        ("/milestones/no_such_milestone/pause", {"comment": "why"}),
        ("/milestones/first_day/delete", {"comment": "why"}),
        ("/quarantine/record", {"entity": "P", "record_id": "9/0", "load_id": "L", "comment": "x"}),
    ],
)
def test_an_action_that_makes_no_sense_is_refused(
    editor: TestClient, path: str, data: dict
) -> None:
    before = ops_runs()
    answer = post(editor, path, data)
    assert answer.status_code in (400, 404, 422)
    assert "<h1>" in answer.text  # a page saying why, not a stack trace
    assert ops_runs() == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "null"},
        {"Origin": "null", "Referer": "https://evil.example/page"},
    ],
)
def test_a_cross_site_form_post_is_refused(editor: TestClient, headers: dict) -> None:
    before = ops_runs()
    answer = post(editor, "/milestones/first_day/pause", {"comment": "csrf"}, **headers)
    assert answer.status_code == 403
    assert "must come from a page of this server" in answer.text
    # the look-up is a post too
    assert post(editor, "/candidates", {"q": "1"}, **headers).status_code == 403
    assert ops_runs() == before


def test_a_same_origin_post_without_origin_is_judged_by_its_referer(editor: TestClient) -> None:
    answer = post(editor, "/candidates", {"q": "1"}, Origin="null", Referer=f"{ORIGIN}/x")
    assert answer.status_code == 303


# --------------------------------------------------------------------------------------------
# the pages' numbers


def _today_cells(page: str) -> dict[tuple[str, str, str], tuple[int, str]]:
    """Today's grid: (milestone, channel, status) -> (count, the link to its rows)."""
    cells = {}
    for href, count in re.findall(r'<a href="([^"]*/touchpoints\?[^"]+)">(\d+)</a>', page):
        href = html.unescape(href)
        query = dict(parse_qsl(urlsplit(href).query))
        cells[query["milestone"], query["channel"], query["status"]] = (int(count), href)
    return cells


def _row_ids(page: str) -> list[str]:
    return re.findall(r'<tr><td class="id">([^<]+)</td>', page)


def check_numbers(browser: TestClient) -> None:
    """Every page's numbers are the hand-made ledger's (worked out here from its rows)."""
    due = {tid: tp for tid, tp in TOUCHPOINTS.items() if tp.due == 0}
    expected = Counter((tp.milestone, tp.channel or "none", tp.status) for tp in due.values())
    cells = _today_cells(text(browser.get(f"{URL_PREFIX}/?day={DAY}")))
    assert {key: count for key, (count, _) in cells.items()} == expected
    for (milestone, channel, status), (_, href) in cells.items():
        rows = text(browser.get(href))
        assert sorted(_row_ids(rows)) == sorted(
            tid
            for tid, tp in due.items()
            if (tp.milestone, tp.channel or "none", tp.status) == (milestone, channel, status)
        )
        for tid in _row_ids(rows):
            assert (TOUCHPOINTS[tid].reason or "") in rows
    # the default day is today in the agency's zone (the pipeline's clock: NOW, on DAY)
    assert _today_cells(text(browser.get(URL_PREFIX + "/"))) == cells
    # a day with nothing due links the nearest day that has touchpoints (the last: DAY + 1)
    last = DAY + timedelta(days=max(tp.due for tp in TOUCHPOINTS.values()))
    empty = text(browser.get(f"{URL_PREFIX}/?day={last + timedelta(days=30)}"))
    assert f'/?day={last}">{last}</a> (before)' in empty and "(after)" not in empty

    failures = text(browser.get(URL_PREFIX + "/failures"))
    group = r'<tr><td>(\w+)</td><td><code>(\w+)</code></td><td class="num">(\d+)<'
    groups = re.findall(group, failures)
    since = NOW.timestamp() - 30 * 86400
    failed = Counter(
        (tp.reason.split("_")[0] if tp.reason.startswith(("twilio", "sendgrid")) else tp.route,
         tp.reason)
        for tp in TOUCHPOINTS.values()
        if tp.status == "failed" and tp.updated.timestamp() >= since
    )  # fmt: skip
    failed.update((tp.route, "in_doubt") for tp in TOUCHPOINTS.values() if tp.doubt)
    assert {(p, c): int(n) for p, c, n in groups} == failed

    quarantine = text(browser.get(URL_PREFIX + "/quarantine"))
    open_rows = [q for q in QUARANTINE if q[6] is None]
    assert f"{len(open_rows)} open rows" in quarantine
    assert sorted(_row_ids_of_quarantine(quarantine)) == sorted(q[1] for q in open_rows)


def _row_ids_of_quarantine(page: str) -> list[str]:
    return re.findall(r'<tr><td>(?:Candidate|Placement)</td><td class="id">([^<]+)</td>', page)


def test_the_pages_numbers_are_the_ledgers_on_the_duckdb_snapshot(viewer: TestClient) -> None:
    check_numbers(viewer)
    assert "Data as of" in text(viewer.get(URL_PREFIX + "/"))


@pytest.mark.postgres
def test_the_pages_numbers_are_the_ledgers_on_live_postgres(
    postgres_warehouse: str, viewer: TestClient
) -> None:
    _make(sa.make_url(postgres_warehouse))
    check_numbers(viewer)
    assert "Live: the Postgres warehouse" in text(viewer.get(URL_PREFIX + "/"))


# --------------------------------------------------------------------------------------------
# escaping, the look-up's audit trail, the run tab, the report, no snapshot yet


def test_a_hostile_name_is_shown_as_text(editor: TestClient) -> None:
    page = text(editor.get(URL_PREFIX + "/candidates/66"))
    assert HOSTILE not in page
    assert html.escape(HOSTILE) in page or "&lt;script&gt;alert(&#39;x&#39;)" in page


def test_a_look_up_is_recorded_without_personal_data(editor: TestClient) -> None:
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    email, mobile = CANDIDATES[2]
    with create_session() as session:
        first = session.scalar(sa.select(sa.func.max(Log.id))) or 0
    answer = post(editor, "/candidates", {"q": email.upper()})
    assert answer.status_code == 303
    assert urlsplit(answer.headers["location"]).path == f"{URL_PREFIX}/candidates/2"
    assert "@" not in answer.headers["location"]
    text(editor.get(answer.headers["location"]))
    assert post(editor, "/candidates", {"q": "nobody@example.com"}).status_code == 200
    with create_session() as session:
        rows = session.scalars(sa.select(Log).where(Log.id > first).order_by(Log.id)).all()
        logged = [(row.event, row.owner, json.loads(row.extra)) for row in rows]
        everything = " ".join(f"{row.event} {row.extra} {row.dag_id} {row.run_id}" for row in rows)
    lookups = [(owner, extra) for event, owner, extra in logged if event == LOOKUP_EVENT]
    assert lookups == [
        ("editor", {"candidate_id": 2, "found": True, "matched_by": "email"}),
        ("editor", {"candidate_id": None, "found": False}),
    ]
    for personal in (email, email.upper(), mobile, "nobody", "First2"):
        assert personal.lower() not in everything.lower()


def test_the_run_tab(viewer: TestClient) -> None:
    page = text(viewer.get(f"{URL_PREFIX}/runs/aftercare_nightly/{NIGHTLY_RUN}"))
    assert "placements_pulled" in page and ">120<" in page  # the run summary
    assert "L1" in page and "L2" in page  # its loads
    other = text(viewer.get(f"{URL_PREFIX}/runs/example_dag/manual__1"))
    assert "Not an aftercare DAG" in other
    missing = viewer.get(f"{URL_PREFIX}/runs/aftercare_nightly/no_such_run")
    assert missing.status_code == 404


def test_the_report_is_served_as_the_engagement_dag_wrote_it(viewer: TestClient) -> None:
    from aftercare import PROJECT_ROOT

    path = PROJECT_ROOT / load_config().engagement.report_path
    path.unlink(missing_ok=True)
    assert "No report yet" in text(viewer.get(URL_PREFIX + "/report"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("<!doctype html><title>the report</title><h1>Aftercare report</h1>")
    try:
        answer = viewer.get(URL_PREFIX + "/report")
        assert answer.text == path.read_text()
        assert answer.headers["content-type"].startswith("text/html")
    finally:
        path.unlink()


def test_before_any_snapshot_every_page_says_so(
    viewer: TestClient, duckdb_warehouse: object
) -> None:
    engine = warehouse.create_engine(sa.URL.create("duckdb", database=str(duckdb_warehouse)))
    warehouse.migrate(engine)
    engine.dispose()
    for page in ("/", "/failures", "/quarantine", "/milestones", "/candidates"):
        answer = text(viewer.get(URL_PREFIX + page))
        assert "No data yet" in answer, page


def test_a_succeeded_action_is_applied_once_the_warehouse_has_it(viewer: TestClient) -> None:
    """The ops task publishes the snapshot before its run ends: a run that ended after the
    snapshot shows as applying only while the snapshot lacks its row in ops_actions."""
    from datetime import UTC, datetime, timedelta

    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    later = datetime.now(UTC) + timedelta(hours=1)  # after the snapshot was published
    targets = {"x4": "record:Candidate/50/L1", "y9": "record:Placement/901/L2"}  # x4 applied
    with create_session() as session:
        dag = DBDagBag().get_latest_version_of_dag(OPS_DAG, session=session)
        for run_id, target in targets.items():
            conf = {"kind": "rejudge", "target": target, "comment": f"c-{run_id}"}
            run = dag.create_dagrun(
                run_id=run_id,
                run_after=at(0, 13, 59),
                conf=conf | {"requested_by": "ops.alice", "requested_at": at(0, 13).isoformat()},
                run_type=DagRunType.MANUAL,
                triggered_by=DagRunTriggeredByType.TEST,
                state=DagRunState.SUCCESS,
                start_date=at(0, 13, 59),
                session=session,
            )
            run.end_date = later
    page = text(viewer.get(URL_PREFIX + "/quarantine"))
    assert "c-y9" in page and '<span class="state applying">applying</span>' in page
    assert "c-x4" not in page


def test_today_defaults_to_the_pipelines_day_not_the_wall_clocks(
    airflow_app: FastAPI, viewer: TestClient, sandbox: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default day follows the clock dispatch sends by: the demo's simulated one (the
    sandbox's, through the aftercare_clock connection), days away from the wall clock."""
    from aftercare.console.app import pipeline_now

    response = requests.post(
        f"{sandbox.url}/sandbox/clock/set", params={"at": "2027-06-09T23:30:00Z"}, timeout=120
    )
    response.raise_for_status()
    clock = {"conn_type": "http", "host": f"{sandbox.url}/sandbox/clock"}
    monkeypatch.setenv("AIRFLOW_CONN_AFTERCARE_CLOCK", json.dumps(clock))
    # 23:30 UTC on 9 June is already the 10th in London (the agency's zone)
    zone = ZoneInfo(load_config().agency.time_zone)
    day = datetime(2027, 6, 9, 23, 30, tzinfo=UTC).astimezone(zone).date()
    # the console's app is one per process (the plugin makes it once): put the module's fixed
    # clock back whatever this test found (monkeypatch would delete an attribute it did not
    # find, and every later page of this worker would fail on it)
    state = console_app(airflow_app).state
    state.pipeline_clock = pipeline_now
    try:
        page = text(viewer.get(URL_PREFIX + "/"))
    finally:
        state.pipeline_clock = lambda: NOW
    assert f"Touchpoints due on {day}</h1>" in page


def test_failures_link_the_send_task_that_carried_each_batch(viewer: TestClient) -> None:
    """A batch's send task is the mapped task instance whose map index the batch names."""
    from airflow.models.dagbag import DBDagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    with create_session() as session:
        dag = DBDagBag().get_latest_version_of_dag("aftercare_dispatch", session=session)
        run = dag.create_dagrun(
            run_id="dispatch_r1",  # batch B1 (sms) of the hand-made warehouse
            logical_date=at(0, 8, 45),
            data_interval=(at(0, 8, 45), at(0, 8, 45)),
            run_after=at(0, 8, 45),
            run_type=DagRunType.SCHEDULED,
            triggered_by=DagRunTriggeredByType.TEST,
            state=DagRunState.SUCCESS,
            session=session,
        )
        send = session.scalar(
            sa.select(TaskInstance).where(
                TaskInstance.run_id == run.run_id, TaskInstance.task_id == "send_sms"
            )
        )
        send.map_index, send._rendered_map_index = 3, "B1 (2)"
    page = text(viewer.get(URL_PREFIX + "/failures"))
    assert "/dags/aftercare_dispatch/runs/dispatch_r1/tasks/send_sms/mapped/3" in page
    # a batch whose task instance Airflow does not have links its run
    assert 'href="/dags/aftercare_dispatch/runs/dispatch_r3"' in page
