"""Airflow as it runs in production, for the tests that need a real scheduler (not `dag.test()`)
with the LocalExecutor: `sandbox.cluster`'s launcher (which `make cluster` runs with Celery
workers) with an api-server, a dag-processor and a scheduler on a Postgres metadata database,
over a DAG folder of the DAG files the test names.

The processes inherit the test's environment (its connections and config), so their tasks reach
the same sandbox and warehouse. `Cluster.kill` kills one process alone (as a crash would: a
killed scheduler's LocalExecutor workers live on); `Cluster.stop` ends every process group.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.cluster import HEALTH_CHECK_THRESHOLD, Cluster, running, wait_for
from tests import ROOT

__all__ = ["HEALTH_CHECK_THRESHOLD", "Cluster", "cluster", "wait_for"]


@contextmanager
def cluster(
    home: Path,
    metadata_uri: str,
    dag_files: list[str],
    processes: tuple[str, ...] = ("api-server", "dag-processor", "scheduler"),
) -> Iterator[Cluster]:
    """A running LocalExecutor cluster (api-server, dag-processor, scheduler: or those of
    ``processes``) on an empty metadata database, with the config's pools, over the DAG files
    ``dag_files`` names; every process stopped afterwards."""
    dags = home / "dags"
    dags.mkdir(parents=True)
    for name in dag_files:  # the DAG file and its runbook beside it
        for path in (ROOT / "dags").glob(f"{name}.*"):
            shutil.copy(path, dags / path.name)
    with running(home, metadata_uri, dags, processes) as started:
        yield started
