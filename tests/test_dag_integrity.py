"""Every DAG parses, fast and without heavy imports, and follows the house policy."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import CronTriggerTimetable

from aftercare.config import load_config
from aftercare.names import WAREHOUSE_POOL
from tests import ROOT

DAGS = ROOT / "dags"
DAG_FILES = sorted(DAGS.glob("*.py"))
APPROVED_TAGS = {"aftercare", "nightly", "dispatch", "engagement", "ops", "erasure"}
# Parsing runs in the dag-processor every few minutes: a DAG file must not pull these in.
# (airflow.sdk itself loads SQLAlchemy, so our own modules that use it are listed instead.)
HEAVY_MODULES = (
    "pandas",
    "great_expectations",
    "duckdb",
    "duckdb_engine",
    "sqlparse",
    "requests_ratelimiter",
    "aftercare.warehouse",
    "aftercare.extract",
    "aftercare.ats",
)


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    assert "aftercare_nightly" in dagbag.dag_ids


def test_parse_time_per_file_is_small(dagbag: DagBag) -> None:
    stats = {Path(stat.file).name: stat.duration for stat in dagbag.dagbag_stats}
    assert set(stats) == {path.name for path in DAG_FILES}
    for name, duration in stats.items():
        # generous bound: a guard against top-level work, not a benchmark
        assert duration < timedelta(seconds=3), f"{name} took {duration} to parse"


def test_parsing_imports_no_heavy_module() -> None:
    # one fresh interpreter parses the files in turn and reports what each newly imported: a
    # heavy module shows up against the first file that pulls it in
    probe = (
        "import json, sys, runpy, airflow.sdk\n"
        f"heavy = {HEAVY_MODULES!r}\n"
        "found = {}\n"
        f"for path in {[str(f) for f in DAG_FILES]!r}:\n"
        "    before = set(sys.modules)\n"
        "    runpy.run_path(path)\n"
        "    new = set(sys.modules) - before\n"
        "    found[path] = sorted(\n"
        "        m for m in new if any(m == h or m.startswith(h + '.') for h in heavy)\n"
        "    )\n"
        "print(json.dumps(found))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {str(f): [] for f in DAG_FILES}


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_only_wire_and_document(dag_file: Path) -> None:
    text = dag_file.read_text()
    assert len(text.encode()) < 6 * 1024, "DAG files wire and document; logic belongs in include/"
    assert not re.search(r"^\s*(select|insert|update|delete|create)\s", text, re.I | re.M)
    assert "sys.path" not in text


def test_policy(dagbag: DagBag) -> None:
    known_pools = set(load_config().airflow.pools) | {"default_pool"}
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and set(dag.tags) <= APPROVED_TAGS, dag_id
        assert dag.catchup is False, dag_id
        assert dag.doc_md and dag.doc_md.lstrip().startswith("#"), f"{dag_id}: doc_md runbook"
        for section in ("What it does", "Rerun a day", "Backfill", "When it fails"):
            assert f"## {section}" in dag.doc_md, f"{dag_id} runbook lacks '{section}'"
        for task in dag.tasks:
            assert task.owner == load_config().airflow.owner, task.task_id
            assert task.retries >= 2, task.task_id
            assert task.retry_exponential_backoff, task.task_id
            assert task.max_retry_delay, task.task_id
            assert task.pool in known_pools, f"{task.task_id} uses unknown pool {task.pool}"


def test_send_tasks_retry_on_their_own_schedule(dagbag: DagBag) -> None:
    settings = load_config().airflow
    sends = [t for t in dagbag.dags["aftercare_dispatch"].tasks if t.task_id.startswith("send_")]
    assert {t.task_id for t in sends} == {"send_email", "send_sms", "send_video", "send_phone"}
    for task in sends:
        assert task.retry_delay == timedelta(seconds=settings.send_retry_delay_seconds)
        assert task.max_retry_delay == timedelta(seconds=settings.send_max_retry_delay_seconds)


@pytest.mark.parametrize(
    "dag_id",
    [
        "aftercare_nightly",
        "aftercare_dispatch",
        "aftercare_engagement",
        "aftercare_ops",
        "aftercare_erasure",
    ],
)
def test_the_ui_can_draw_every_dag(dagbag: DagBag, dag_id: str) -> None:
    """What the api-server does for the grid and graph views (``/ui/structure/structure_data``):
    the serialized DAG's task groups in topological order, each drawn with its children. Task
    groups that depend on each other (a cycle between groups, though none between tasks) make it
    answer HTTP 500 and the views stay empty."""
    from airflow.api_fastapi.core_api.services.ui.task_group import task_group_to_dict
    from airflow.serialization.serialized_objects import DagSerialization

    dag = DagSerialization.from_dict(DagSerialization.to_dict(dagbag.dags[dag_id]))
    groups = dag.task_group.get_task_group_dict()
    nodes = [
        task_group_to_dict(child, group_dict=groups)
        for child in dag.task_group.topological_sort(group_dict=groups)
    ]
    assert {node["id"] for node in nodes} == set(dag.task_group.children)


def test_nightly_shape(dagbag: DagBag) -> None:
    dag = dagbag.dags["aftercare_nightly"]
    agency_tz = load_config().agency.time_zone

    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.timetable.expression == "0 2 * * *"
    assert str(dag.timetable.timezone) == agency_tz
    assert dag.max_active_runs == 1
    upstream = {task.task_id: task.upstream_task_ids for task in dag.tasks}
    assert upstream == {
        "prepare_warehouse": set(),
        "extract.pull_placements": {"prepare_warehouse"},
        "extract.pull_candidates": {"prepare_warehouse"},
        "validate.check_quality": {"extract.pull_placements", "extract.pull_candidates"},
        "validate.stage_records": {"validate.check_quality"},
        "sweep_deleted_placements": {"validate.stage_records"},
        "plan.plan_touchpoints": {"sweep_deleted_placements"},
        "plan.request_renders": {"plan.plan_touchpoints"},
        "record.write_run_summary": {
            "prepare_warehouse",
            "extract.pull_placements",
            "extract.pull_candidates",
            "validate.check_quality",
            "validate.stage_records",
            "sweep_deleted_placements",
            "plan.plan_touchpoints",
        },
    }
    # the weekly sweep is skipped on other days: the summary must still be written
    assert dag.get_task("record.write_run_summary").trigger_rule == "none_failed"
    assert dag.get_task("plan.plan_touchpoints").trigger_rule == "none_failed"
    assert {task.pool for task in dag.tasks} == {WAREHOUSE_POOL}
    assert dag.params["full_refresh"] is False
    assert dag.params["override_quality_gate"] is False
    assert dag.params["preview_days"] == 0


@pytest.mark.parametrize(
    ("day", "full_refresh", "due"),
    [("2026-11-29", False, True), ("2026-11-24", False, False), ("2026-11-24", True, True)],
    ids=["sunday", "tuesday", "full-refresh"],
)
def test_deletion_sweep_is_due_on_the_configured_weekday(
    day: str, full_refresh: bool, due: bool
) -> None:
    from datetime import date

    from aftercare.tasks.nightly import sweep_due

    config = load_config()
    assert config.ats.full_sweep_weekday == "sunday"
    assert sweep_due(config, date.fromisoformat(day), full_refresh=full_refresh) is due


def test_dispatch_shape(dagbag: DagBag) -> None:
    dag = dagbag.dags["aftercare_dispatch"]
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.timetable.expression == "*/15 * * * *"
    assert dag.max_active_runs == 1
    channels = ("email", "sms", "video", "phone")
    upstream = {task.task_id: task.upstream_task_ids for task in dag.tasks}
    assert upstream == {
        "prepare_batches": set(),
        **{f"batches_{c}": {"prepare_batches"} for c in channels},
        # every channel's sends wait for every channel's batches: ready together, by weight
        **{f"send_{c}": {f"batches_{c}" for c in channels} for c in channels},
        "record_outcomes": {f"send_{c}" for c in channels},
    }
    pools = {task.task_id: task.pool for task in dag.tasks}
    assert pools["prepare_batches"] == pools["record_outcomes"] == WAREHOUSE_POOL
    assert {pools[f"send_{c}"] for c in channels} == {f"aftercare_send_{c}" for c in channels}
    # what the send tasks journaled reaches the ledger even when some of them failed
    assert dag.get_task("record_outcomes").trigger_rule == "all_done"
    assert dag.params["dry_run"] is False
    # the channel of the fewest slots (phone: 2, the others 4) starts its batches first
    slots = {c: load_config().airflow.pools[f"aftercare_send_{c}"].slots for c in channels}
    weights = {c: dag.get_task(f"send_{c}").priority_weight for c in channels}
    assert all(
        (weights[a] > weights[b]) == (slots[a] < slots[b]) for a in channels for b in channels
    )


def test_engagement_shape(dagbag: DagBag) -> None:
    from aftercare.dagkit import LEDGER

    dag = dagbag.dags["aftercare_engagement"]
    assert dag.max_active_runs == 1
    # on its own schedule and whenever the ledger changes, which the plan and dispatch announce
    assert LEDGER in dag.timetable.asset_condition.objects
    nightly, dispatch = dagbag.dags["aftercare_nightly"], dagbag.dags["aftercare_dispatch"]
    assert LEDGER in nightly.get_task("plan.plan_touchpoints").outlets
    assert LEDGER in dispatch.get_task("record_outcomes").outlets
    feeds = {f"load.load_{feed}" for feed in ("sms", "email", "reviews", "ats")}
    upstream = {task.task_id: task.upstream_task_ids for task in dag.tasks}
    assert upstream == {
        **dict.fromkeys(feeds, set()),
        # the preferences feed first: its referral clicks attribute the ATS's referrals
        "load.load_preferences": set(),
        "load.load_ats": {"load.load_preferences"},
        "follow_up": {"load.load_sms"},
        "rebuild_marts": {*feeds, "follow_up"},
        "build_report": {"follow_up", "rebuild_marts"},
    }
    assert {task.pool for task in dag.tasks} == {WAREHOUSE_POOL}
    assert dag.get_task("rebuild_marts").trigger_rule == "all_done"
    assert dag.get_task("load.load_ats").trigger_rule == "all_done"


def test_ops_shape(dagbag: DagBag) -> None:
    """Runs only when the console triggers it (so it may be unpaused from the start), one action
    at a time, each validated by its params before it runs."""
    from airflow.sdk.exceptions import ParamValidationError

    from aftercare.names import OPS_DAG, OPS_KINDS

    dag = dagbag.dags[OPS_DAG]
    assert dag.timetable.can_be_scheduled is False  # schedule=None
    assert dag.is_paused_upon_creation is False
    assert dag.max_active_runs == 1
    assert [(t.task_id, t.pool) for t in dag.tasks] == [("apply_action", WAREHOUSE_POOL)]
    assert dag.params.get_param("kind").schema["enum"] == list(OPS_KINDS)
    action = {
        "kind": "pause",
        "target": "first_day",
        "comment": "template being fixed",
        "requested_by": "admin",
        "requested_at": "2026-11-23T09:30:00+00:00",
    }
    params = copy.deepcopy(dag.params)
    params.update(action)
    assert params.validate() == action
    # (a malformed requested_at is the task's to refuse: Airflow checks no date-time format
    # without the optional rfc3339-validator)
    for bad in ({"kind": "archive"}, {"comment": ""}, {"target": ""}):
        params = copy.deepcopy(dag.params)
        with pytest.raises(ParamValidationError):
            params.update({**action, **bad})
            params.validate()
