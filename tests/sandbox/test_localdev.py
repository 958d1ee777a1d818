"""The local dev commands: `make airflow` stops every process it started."""

from __future__ import annotations

import subprocess
import time

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
