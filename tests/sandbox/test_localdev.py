"""The local dev commands: `make airflow` stops every process it started; the demo's task
logs are where the Airflow UI reads them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

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
        text = {}
        for ti in run.get_task_instances(session=session):
            chunks, _ = TaskLogReader().read_log_chunks(ti, ti.try_number, {})
            text[ti.task_id] = "\n".join(str(line.event) for line in chunks)
    assert "the task's own line 42" in text["speak"]
    assert "and what it prints" in text["speak"]
    assert "a task's own failure" not in text["speak"]
    assert "a task's own failure" in text["fail"]
    # the demo stops at a failed run and shows the failed task's log
    assert demo.returncode == 1
    assert "FAILED" in demo.stderr
    assert "a task's own failure" in demo.stdout
