"""The docs name what the code does: the two commands up front, every connection and pool."""

from __future__ import annotations

import re

from aftercare.config import load_config
from aftercare.connections import CONNECTIONS
from tests import ROOT

README = (ROOT / "README.md").read_text()


def test_the_two_commands_are_on_the_first_screen() -> None:
    first_screen = "\n".join(README.splitlines()[:25])
    assert "make demo" in first_screen and "make test" in first_screen
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
    assert {"demo", "test", "airflow"} <= targets


def test_ci_runs_exactly_make_test() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test\b", ci, re.M)


def test_every_connection_and_pool_is_documented() -> None:
    for conn_id in CONNECTIONS:
        assert f"`{conn_id}`" in README, conn_id
    for pool in load_config().airflow.pools:
        assert f"`{pool}`" in README, pool
