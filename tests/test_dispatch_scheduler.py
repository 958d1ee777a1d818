"""Exactly once under a real scheduler (api-server, dag-processor, scheduler with the
LocalExecutor; `tests.airflow_cluster`), not `dag.test()`: the dispatch DAG sends a day of texts
and emails with provider latency while the scheduler dies and comes back, or while an operator
clears a running send task. Whatever Airflow does with the tries (resetting orphans, restarting
the cleared), every due touchpoint reaches its provider exactly once, and the ledger says so.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from aftercare import connections, plan, warehouse
from aftercare.config import config_path, load_config
from tests import airflow_cluster
from tests.test_dispatch import (
    D,
    candidate,
    faults,
    ledger_rows,
    received,
    sent_by_touchpoint,
    set_clock,
)
from tests.test_plan import placement

pytestmark = pytest.mark.slow

DAG_ID = "aftercare_dispatch"
TEXTS, EMAILS = 120, 60


@pytest.fixture
def scheduled(
    tmp_path: Path,
    postgres_server: Any,
    postgres_warehouse: str,
    provider_connections: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[SimpleNamespace]:
    """A running cluster over a Postgres warehouse and the sandbox, and a planned day: texts and
    emails due at 09:00, four sends at a time per batch, Twilio answering each after 2 s (so the
    sms batch runs for a minute: a scheduler's death and restart fit inside it) and SendGrid
    after 0.5 s."""
    config = yaml.safe_load(config_path().read_text())
    for provider in ("twilio", "sendgrid"):
        config["dispatch"]["providers"][provider]["concurrency"] = 4
    config["dispatch"]["timeout_seconds"] = 10  # the latency is no fault: no answer is lost
    config["dispatch"]["staging_root"] = str(tmp_path / "staging")  # run ids repeat per test
    path = tmp_path / "aftercare.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("AFTERCARE_CONFIG", str(path))
    engine = connections.warehouse_engine()
    warehouse.migrate(engine)
    for candidate_id in range(1, TEXTS + EMAILS + 1):
        mobile = f"+4479111{candidate_id:05d}" if candidate_id <= TEXTS else None
        candidate(engine, candidate_id, mobile_e164=mobile)
        placement(engine, 1000 + candidate_id, candidate_id, start_date=D)
    plan.plan(engine, load_config(), D)
    sandbox = provider_connections
    set_clock(sandbox, "2026-11-23T09:00:00Z")
    faults(sandbox, "twilio", latency_ms=2000)
    faults(sandbox, "sendgrid", latency_ms=500)
    with (
        postgres_server.database() as metadata,
        airflow_cluster.cluster(tmp_path / "airflow", metadata, [DAG_ID]) as cluster,
    ):
        yield SimpleNamespace(cluster=cluster, engine=engine, sandbox=sandbox)
    engine.dispose()


def texting(sandbox: Any, at_least: int) -> None:
    """Wait until the sms batch is under way."""
    airflow_cluster.wait_for(
        "texts under way", lambda: len(received(sandbox, "twilio")) >= at_least, timeout=240
    )


def finished(run: SimpleNamespace, run_id: str) -> list[dict[str, Any]]:
    """The run's end (it must succeed) and its send tasks' instances."""
    cluster = run.cluster
    state = cluster.wait_for_run(DAG_ID, run_id, timeout=300)
    assert state == "success", cluster.log("scheduler")[-3000:]
    return [t for t in cluster.task_instances(DAG_ID, run_id) if t["task_id"].startswith("send_")]


def assert_exactly_once(run: SimpleNamespace) -> None:
    """Every due touchpoint reached its provider once (the sandbox's lists), and the ledger
    names each message the providers hold."""
    per_touchpoint = sent_by_touchpoint(run.sandbox)
    assert set(per_touchpoint.values()) == {1}, [k for k, n in per_touchpoint.items() if n > 1]
    rows = ledger_rows(run.engine)
    statuses = Counter(row["status"] for row in rows.values())
    assert len(rows) == TEXTS + EMAILS
    # the sandbox's Twilio has a seeded 2% of numbers that once answered STOP
    assert statuses["sent"] + statuses["suppressed"] == TEXTS + EMAILS, statuses
    assert statuses["suppressed"] < TEXTS * 0.1
    texts = received(run.sandbox, "twilio")
    emails = received(run.sandbox, "sendgrid")
    assert len(texts) + len(emails) == statuses["sent"]
    sent_ids = {row["provider_message_id"] for row in rows.values() if row["status"] == "sent"}
    assert {m["sid"] for m in texts} <= sent_ids
    assert not any(row["in_doubt"] for row in rows.values())


def test_a_scheduler_killed_and_restarted_mid_batch_sends_nothing_twice(
    scheduled: SimpleNamespace,
) -> None:
    """The scheduler dies while the send tasks run (its LocalExecutor workers live on, and so do
    the tries they run); once it has been dead longer than the health-check threshold, a new
    scheduler resets those tasks as orphans and starts new tries of the same batches while the
    old tries may still be sending."""
    cluster = scheduled.cluster
    run_id = cluster.unpause(DAG_ID)
    texting(scheduled.sandbox, at_least=12)
    cluster.kill("scheduler")
    time.sleep(airflow_cluster.HEALTH_CHECK_THRESHOLD + 5)
    cluster.start("scheduler")
    sends = finished(scheduled, run_id)
    # the restart did reset the running send task: a second try ran
    assert max(t["try_number"] for t in sends if t["task_id"] == "send_sms") >= 2, sends
    assert_exactly_once(scheduled)


def test_clearing_a_running_send_task_sends_nothing_twice(scheduled: SimpleNamespace) -> None:
    """An operator clears the sms send task from the API while it sends: Airflow tells the
    running try to stop and starts a new one on the same batch."""
    cluster = scheduled.cluster
    run_id = cluster.unpause(DAG_ID)
    texting(scheduled.sandbox, at_least=12)
    cleared = cluster.api(
        "POST",
        f"/dags/{DAG_ID}/clearTaskInstances",
        json={
            "dry_run": False,
            "only_failed": False,
            "dag_run_id": run_id,
            "task_ids": ["send_sms"],
        },
    )
    # cleared while running: Airflow marks it restarting and tells the running try to stop
    assert [t["state"] for t in cleared["task_instances"]] == ["restarting"], cleared
    sends = finished(scheduled, run_id)
    assert max(t["try_number"] for t in sends if t["task_id"] == "send_sms") >= 2, sends
    assert_exactly_once(scheduled)
