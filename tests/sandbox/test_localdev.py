"""The local dev commands: `make airflow` stops every process it started and continues the
demo's sandbox world; the demo's task logs are where the Airflow UI reads them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from sandbox.localdev import stop_group


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize(
    ("script", "seconds"),
    [
        ("sleep 300 & sleep 300 & wait", 30),  # children that stop on SIGTERM
        ("trap '' TERM; sleep 300 & sleep 300 & wait", 1),  # children that ignore it
    ],
)
def test_stopping_airflow_stops_its_children(script: str, seconds: float) -> None:
    leader = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(psutil.Process(leader.pid).children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    children = [child.pid for child in psutil.Process(leader.pid).children()]
    assert len(children) == 2

    stop_group(leader, seconds)

    assert leader.poll() is not None
    assert not [pid for pid in children if running(pid)]


#: A DAG of two tasks: one says something (through logging and print), one fails.
TALKING_DAG = """
import logging

from airflow.sdk import DAG, task


@task
def speak():
    logging.getLogger("aftercare.demo").info("the task's own line %s", 41 + 1)
    print("and what it prints")


@task(retries=0)
def fail():
    raise ValueError("a task's own failure")


with DAG("localdev_task_logs", schedule=None):
    speak() >> fail()
"""


@pytest.mark.slow
@pytest.mark.usefixtures("airflow_db")
def test_the_demo_runs_task_logs_are_where_the_airflow_ui_reads_them(tmp_path: Path) -> None:
    """A task run in-process by dag.test(), as `make demo` runs each (in a process of its own,
    on this test's Airflow home), has its log where the api-server's log reader looks: the UI
    shows the task's own lines, not an empty log."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.log.log_reader import TaskLogReader
    from airflow.utils.session import create_session
    from sqlalchemy import select

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "talking.py").write_text(TALKING_DAG)
    logical = datetime(2026, 3, 1, 2, tzinfo=UTC)
    demo = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from datetime import datetime; from pathlib import Path;"
            "from sandbox.localdev import Story; story = Story(Path(sys.argv[1]));"
            "story.run('localdev_task_logs', datetime.fromisoformat(sys.argv[2]), {})",
            str(tmp_path / "demo"),
            logical.isoformat(),
        ],
        env={**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags")},
        capture_output=True,
        text=True,
        timeout=120,
    )

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.logical_date == logical))
        text, lines = {}, {}
        for ti in run.get_task_instances(session=session):
            chunks, _ = TaskLogReader().read_log_chunks(ti, ti.try_number, {})
            lines[ti.task_id] = list(chunks)
            # each line's event and its fields (a failure's exception is one, as the UI shows it)
            text[ti.task_id] = "\n".join(str(line.model_dump()) for line in lines[ti.task_id])
    # each line as a supervisor writes it: its time apart, once (not also inside the text), and
    # the task runner's group markers whole lines the UI folds, not text inside another line
    [own] = [line for line in lines["speak"] if "the task's own line 42" in str(line.event)]
    assert own.timestamp is not None and str(own.event).startswith("the task's own line 42")
    markers = [str(line.event) for line in lines["speak"] if "::endgroup::" in str(line.event)]
    assert markers and set(markers) == {"::endgroup::"}
    assert "the task's own line 42" in text["speak"]
    assert "and what it prints" in text["speak"]
    assert "a task's own failure" not in text["speak"]
    assert "a task's own failure" in text["fail"]
    # the demo stops at a failed run and shows the failed task's log
    assert demo.returncode == 1
    assert "FAILED" in demo.stderr
    assert "a task's own failure" in demo.stdout


def test_a_kept_sandbox_world_goes_on_where_it_stopped(tmp_path: Path) -> None:
    """The demo's sandbox saves its world; `make airflow`'s sandbox continues it: the same
    clock, ATS and providers' records, and the ids it issues next are new ones."""
    from sandbox import SandboxServer, SandboxSettings
    from sandbox.ats import AtsSandboxSettings
    from sandbox.twilio import TwilioSettings

    state = tmp_path / "sandbox-state.pickle"
    settings = SandboxSettings(ats=AtsSandboxSettings(placements=200, clock_start="2026-11-23"))
    twilio = TwilioSettings()

    def call(server: SandboxServer, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{server.url}{path}", timeout=30, **kwargs)

    def send(server: SandboxServer) -> str:
        form = {"From": twilio.from_numbers[0], "To": "+447701900001", "Body": "Good luck!"}
        messages = f"/twilio/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
        response = call(
            server, "POST", messages, data=form, auth=(twilio.account_sid, twilio.auth_token)
        )
        assert response.status_code == 201, response.text
        return response.json()["sid"]

    def clock(server: SandboxServer, at: str) -> requests.Response:
        return call(server, "POST", "/sandbox/clock/set", params={"at": at})

    # another world's settings are overruled by the kept world's
    other = SandboxSettings(seed=7, ats=AtsSandboxSettings(placements=50))
    with SandboxServer(settings, state_file=state) as demo:
        clock(demo, "2026-11-25T09:00:00Z").raise_for_status()
        sent = send(demo)
        saved = call(demo, "POST", "/sandbox/state")
        assert saved.status_code == 200 and saved.json()["iso"] == "2026-11-25T09:00:00.000Z"
        with SandboxServer(other, state_file=state) as airflow:
            assert call(airflow, "GET", "/health").json()["seed"] == settings.seed
            assert call(airflow, "GET", "/sandbox/clock").json()["iso"] == saved.json()["iso"]
            assert clock(airflow, "2026-11-24T00:00:00Z").status_code == 409  # never back
            received = call(airflow, "GET", "/sandbox/twilio/received").json()["data"]
            assert [message["sid"] for message in received] == [sent]
            # the two go on alike from there: the same next id, never one issued before
            following = [send(demo), send(airflow)]
            assert following[0] == following[1] != sent
            lived = [clock(server, "2026-11-27T09:00:00Z").json() for server in (demo, airflow)]
            assert lived[0] == lived[1] and lived[0]["ats_changes"]
            worlds = [server.app.state.ats.world for server in (demo, airflow)]
            assert len({(len(w.tables["Placement"]), w.last_stamp, w.now) for w in worlds}) == 1

    with SandboxServer(settings) as fresh:
        assert call(fresh, "POST", "/sandbox/state").status_code == 409  # no state file


def test_make_airflow_continues_the_demos_world_from_its_clock(tmp_path: Path) -> None:
    """Without a demo, `make airflow` starts a fresh world today; after one, it continues the
    demo's world, its clock never behind where the demo left it."""
    from sandbox import SandboxSettings
    from sandbox.ats import AtsSandboxSettings
    from sandbox.localdev import KeptWorld, SandboxWorld, airflow_world, clock_ahead

    today, now = date(2026, 12, 3), datetime(2026, 12, 3, 16, 30, tzinfo=UTC)
    settings, world = airflow_world(tmp_path, today)
    assert world is None and settings.ats.clock_start == today and settings.ats.scenario == "usual"
    assert clock_ahead(world, now) == timedelta(0)

    kept = KeptWorld.of(tmp_path)
    demo = SandboxWorld(
        settings=SandboxSettings(seed=5, ats=AtsSandboxSettings(clock_start=date(2026, 12, 1))),
        scenario="usual",
        days=3,
        first_night=date(2026, 12, 1),
        last_night=today,
        clock=datetime(2026, 12, 17, 12, tzinfo=UTC),
    )
    kept.record.parent.mkdir(parents=True)
    kept.record.write_text(demo.model_dump_json())
    assert airflow_world(tmp_path, today)[1] is None  # no state saved: nothing to continue
    kept.state.write_bytes(b"saved by the sandbox")
    settings, world = airflow_world(tmp_path, today)
    assert world == demo and settings == demo.settings
    assert now + clock_ahead(world, now) == demo.clock
    assert clock_ahead(world, demo.clock + timedelta(days=1)) == timedelta(0)
    kept.forget()
    assert airflow_world(tmp_path, today)[1] is None
