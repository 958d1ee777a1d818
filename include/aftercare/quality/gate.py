"""The validation gate between the ATS and staging (Great Expectations Core, pandas batches).

`validate` takes every load not yet staged and judges the records staging would take from
them (the latest version of each), and the quarantined versions an operator asked to judge
again (``quality.quarantine.rejudge_requested_at``: released if they pass now, then staged),
a chunk of ``quality.chunk_rows`` records at a time in id order, so memory stays flat whatever
the volume. DuckDB cannot serve GX's SQL datasource, so
both warehouses hand GX pandas frames: the same suites, the same verdicts.

* Rows: a record failing its row suite goes to ``quality.quarantine`` with every failed
  expectation and column (ids and rule names only in the log); staging will skip it and keep
  the version it had. The next valid version of the record releases it (`extract.stage`).
* Loads: the load suite then judges each load (quarantined share, volume, freshness). If any
  load fails it, the gate raises `QualityGateError` before the loads are marked validated, so
  nothing of the run is staged, planned or sent; the next run judges those loads again, with
  whatever the ATS sent since. ``override`` lets a checked run through.

Each GX validation is one row in ``quality.validation_runs`` with a link to its page in the
Data Docs, built under ``quality.gx_project_dir`` once per run, with their front page (`docs`).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from sqlalchemy.engine import Connection, Engine

from aftercare import warehouse
from aftercare.config import Config
from aftercare.quality import docs, docs_index, project_dir, suites

log = logging.getLogger(__name__)

#: entity -> (its row suite, whose sql file is sql/quality/collect_<suite>.sql; its changes table;
#: its date columns, which GX compares as timestamps)
ENTITIES = {
    "placement": ("placement_rows", "placement_changes", ("start_date", "end_date")),
    "candidate": ("candidate_rows", "candidate_changes", ("date_of_birth",)),
}
_DATASOURCE = "aftercare"


class QualityGateError(RuntimeError):
    """The circuit breaker tripped: a load failed the load suite; nothing may proceed."""


def _result_format(key: str) -> dict[str, Any]:
    """Every failing record's id, and no values: the results and Data Docs hold no names,
    emails or numbers (the quarantine payload in the warehouse does)."""
    return {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": [key],
        "exclude_unexpected_values": True,
        "partial_unexpected_count": 0,
        "return_unexpected_index_query": False,
    }


class _Project:
    """The GX file context with this config's suites: one pandas batch definition and one
    checkpoint (no actions: the Data Docs are built once per run) per suite."""

    def __init__(self, config: Config) -> None:
        self.context = gx.get_context(mode="file", project_root_dir=str(project_dir(config)))
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.context.data_sources.add_or_update_pandas(_DATASOURCE)
        self.checkpoints: dict[str, gx.Checkpoint] = {}
        for name, build in suites.SUITES.items():
            batch = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(name)
            definition = self.context.validation_definitions.add_or_update(
                gx.ValidationDefinition(
                    name=name, data=batch, suite=self.context.suites.add_or_update(build(config))
                )
            )
            key = suites.ROW_SUITES.get(name, "load_id")
            self.checkpoints[name] = self.context.checkpoints.add_or_update(
                gx.Checkpoint(
                    name=name,
                    validation_definitions=[definition],
                    result_format=_result_format(key),
                )
            )

    def run(self, suite: str, frame: pd.DataFrame, run_name: str) -> _Outcome:
        """Validate ``frame`` against ``suite``: one GX result (and Data Docs page) under the
        run's name, told apart from the run's other chunks by its time."""
        checkpoint_result = self.checkpoints[suite].run(
            batch_parameters={"dataframe": frame},
            run_id=RunIdentifier(run_name=run_name, run_time=datetime.now(UTC)),
        )
        [(result_id, result)] = checkpoint_result.run_results.items()
        key = suites.ROW_SUITES.get(suite, "load_id")
        reasons: dict[Any, list[dict[str, str]]] = {}
        findings: dict[Any, list[dict[str, str]]] = {}
        failed: list[dict[str, str]] = []
        for outcome in result.results:
            expectation = outcome.expectation_config
            if outcome.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"GX could not evaluate {expectation.type} in suite {suite}: "
                    f"{outcome.exception_info.get('exception_message')}"
                )
            if outcome.success:
                continue
            column = expectation.kwargs.get("column") or expectation.kwargs.get("column_A")
            field = suites.field_of(expectation)
            reason = {"expectation": expectation.type, "column": column}
            failed.append(
                {
                    **reason,
                    "rule": expectation.description,
                    "field": field,
                    **_unmapped(frame, expectation.kwargs),
                }
            )
            # a field rule's failure is a finding about the field, a record rule's a reason
            # to quarantine the record
            entry = {"field": field, "rule": expectation.type} if field else reason
            target = findings if field else reasons
            for unexpected in outcome.result.get("unexpected_index_list") or []:
                for record_id in unexpected[key]:
                    found = target.setdefault(_plain(record_id), [])
                    if entry not in found:  # a duplicated id is listed once per row
                        found.append(entry)
        [site] = self.context.get_docs_sites_urls(
            resource_identifier=result_id, only_if_exists=False
        ) or [{}]
        return _Outcome(bool(result.success), reasons, findings, failed, site.get("site_url"))

    def build_docs(self) -> None:
        self.context.build_data_docs()


@dataclass
class _Outcome:
    success: bool
    #: the failed record rules (expectation, column) per quarantined record id
    reasons: dict[Any, list[dict[str, str]]]
    #: the failed field rules (field, rule) per record id that flows on without those fields
    findings: dict[Any, list[dict[str, str]]]
    failed: list[dict[str, str]]
    docs_url: str | None


def _unmapped(frame: pd.DataFrame, kwargs: dict[str, Any]) -> dict[str, dict[str, int]]:
    """For a failed set rule (a picklist the config maps: statuses, employment types), the
    values outside the set and how many records carry each (picklist values, never personal
    data), so an unmapped value is named wherever the failure is."""
    if "value_set" not in kwargs:
        return {}
    values = frame[kwargs["column"]].dropna()
    outside = values[~values.isin(kwargs["value_set"])].value_counts()
    return {"unmapped": {str(value): int(count) for value, count in outside.items()}}


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (for json)."""
    return value.item() if hasattr(value, "item") else value


def validate(
    engine: Engine, config: Config, *, run_id: str, as_of: datetime, override: bool = False
) -> dict[str, int]:
    """Judge the loads not yet staged; quarantine failing records; mark the loads validated,
    or raise `QualityGateError` when a load fails the load suite (unless ``override``)."""
    with warehouse.transaction(engine) as conn:
        load_ids = [
            row["load_id"] for row in warehouse.query_file(conn, "quality/unstaged_loads.sql")
        ]
        [asked] = warehouse.query_file(conn, "quality/rejudge_requests.sql")
    if not load_ids and not asked["requests"]:
        log.info("validation: no loads to validate")
        return {}
    project = _Project(config)
    judged: Counter[str] = Counter()  # records judged per load
    quarantined: Counter[str] = Counter()  # records quarantined per load
    reported: Counter[str] = Counter()  # field findings and unmapped values, per entity
    params = {"load_ids": json.dumps(load_ids), "as_of": as_of.isoformat()}
    with engine.connect() as conn:  # one session: its temporary tables hold the rows judged
        for entity in ENTITIES:
            _judge_records(
                conn, project, config, entity, params, run_id, judged, quarantined, reported
            )
    if not load_ids:  # only records asked to be judged again: no load for the breaker
        project.build_docs()
        return dict(reported)
    loads, outcome = _judge_loads(engine, project, config, params, run_id, judged, quarantined)
    counts: Counter[str] = Counter(reported)
    for load in loads.itertuples():
        counts[f"{load.entity.lower()}s_validated"] += int(load.rows_judged)
        counts[f"{load.entity.lower()}s_quarantined"] += int(load.rows_quarantined)
    project.build_docs()
    docs.build_front_page(engine, config)
    counts["loads_failed"] = len(outcome.reasons)
    if outcome.reasons and not override:
        raise QualityGateError(_breaker_message(loads, outcome, run_id, config))
    if outcome.reasons:
        log.warning("validation: breaker tripped, overridden:\n%s", _failures(loads, outcome))
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(conn, "quality/mark_validated.sql", params)
    return dict(counts)


def record_chunks(
    conn: Connection, config: Config, entity: str, params: dict[str, str]
) -> Iterator[pd.DataFrame]:
    """The records of ``entity`` a row suite judges, a frame of ``quality.chunk_rows`` at a
    time in id order: collected once into a temporary table of this session (``conn``),
    numbered in chunks."""
    suite, _, dates = ENTITIES[entity]
    key = suites.ROW_SUITES[suite]
    with conn.begin():
        warehouse.execute_file(
            conn, f"quality/collect_{suite}.sql", {**params, "rows": config.quality.chunk_rows}
        )
    for chunk in itertools.count():
        with conn.begin():
            rows = warehouse.query_file(
                conn, "quality/chunk.sql", {"chunk": chunk}, table=suite, key=key
            )
        if not rows:
            return
        frame = pd.DataFrame(rows).drop(columns="chunk")
        for column in dates:
            frame[column] = pd.to_datetime(frame[column])
        for column in frame.select_dtypes("datetimetz"):  # instants: compared in UTC
            frame[column] = frame[column].dt.tz_convert(None)
        yield frame


def _judge_records(
    conn: Connection,
    project: _Project,
    config: Config,
    entity: str,
    params: dict[str, str],
    run_id: str,
    judged: Counter[str],
    quarantined: Counter[str],
    reported: Counter[str],
) -> None:
    """Run the entity's row suite over its records, chunk by chunk. In one transaction per
    chunk: what its records had open in quarantine for these loads is released and their field
    findings forgotten, the requests to judge them again are answered, its failures go (back)
    to quarantine, its findings are written, and its validation row is written. Then the
    statistics of the tables it wrote are refreshed for the next chunk's plans."""
    suite, table, _ = ENTITIES[entity]
    key = suites.ROW_SUITES[suite]
    for chunk, frame in enumerate(record_chunks(conn, config, entity, params), start=1):
        outcome = project.run(suite, frame, run_id)
        loads_of = dict(zip(frame[key].map(_plain), frame["load_id"], strict=True))
        failures = [
            {"id": record_id, "load_id": loads_of[record_id], "reasons": reasons}
            for record_id, reasons in outcome.reasons.items()
        ]
        findings = [
            {"id": record_id, "load_id": loads_of[record_id], **finding}
            for record_id, found in outcome.findings.items()
            if record_id not in outcome.reasons  # a quarantined record is not staged at all
            for finding in found
        ]
        judged_now = json.dumps(
            [f"{_plain(r)}/{load}" for r, load in zip(frame[key], frame["load_id"], strict=True)]
        )
        with conn.begin():
            for statement in ("release_judged", "forget_findings"):
                warehouse.execute_file(
                    conn, f"quality/{statement}.sql", {"entity": entity, "judged": judged_now}
                )
            reported[f"{entity}s_rejudged"] += warehouse.execute_file(
                conn,
                "quality/answer_rejudge.sql",
                {"entity": entity, "ids": json.dumps([str(_plain(r)) for r in frame[key]])},
            )
            warehouse.execute_file(
                conn,
                "quality/quarantine_rows.sql",
                {"entity": entity, "failures": json.dumps(failures)},
                table=table,
                key=key,
            )
            warehouse.execute_file(
                conn,
                "quality/record_findings.sql",
                {"entity": entity, "findings": json.dumps(findings)},
            )
            _record(conn, run_id, suite, chunk, len(frame), len(failures), outcome)
        with conn.begin():
            warehouse.execute_file(conn, "quality/analyze_judged.sql")
        judged.update(frame["load_id"])
        quarantined.update(failure["load_id"] for failure in failures)
        reported.update(f"{entity}_{finding['field']}_findings" for finding in findings)
        for rule in outcome.failed:
            for value, count in rule.get("unmapped", {}).items():
                reported[f"{entity}_unmapped_{rule['column']}[{value}]"] += count
        log.info(
            "validation %s chunk %d: %d records, %d quarantined, %d field findings",
            suite,
            chunk,
            len(frame),
            len(failures),
            len(findings),
        )


def _judge_loads(
    engine: Engine,
    project: _Project,
    config: Config,
    params: dict[str, str],
    run_id: str,
    judged: Counter[str],
    quarantined: Counter[str],
) -> tuple[pd.DataFrame, _Outcome]:
    """Run the load suite (the circuit breaker) over the run's loads."""
    volume = config.quality.volume
    with warehouse.transaction(engine) as conn:
        loads = pd.DataFrame(
            warehouse.query_file(
                conn,
                "quality/load_checks.sql",
                {**params, "lookback": volume.lookback_loads, "min_history": volume.min_history},
            )
        )
    loads["rows_judged"] = [judged[load_id] for load_id in loads["load_id"]]
    loads["rows_quarantined"] = [quarantined[load_id] for load_id in loads["load_id"]]
    loads["quarantined_share"] = (loads["rows_quarantined"] / loads["rows_judged"]).fillna(0.0)
    outcome = project.run(suites.LOAD_SUITE, loads, run_id)
    with warehouse.transaction(engine) as conn:
        _record(conn, run_id, suites.LOAD_SUITE, 1, len(loads), len(outcome.reasons), outcome)
    return loads, outcome


def _record(
    conn: Any, run_id: str, suite: str, chunk: int, evaluated: int, failed: int, outcome: _Outcome
) -> None:
    warehouse.execute_file(
        conn,
        "quality/record_validation.sql",
        {
            "run_id": run_id,
            "suite": suite,
            "chunk": chunk,
            "evaluated": evaluated,
            "passed": evaluated - failed,
            "failed": failed,
            "failed_share": failed / evaluated if evaluated else 0.0,
            "success": outcome.success,
            "failed_expectations": json.dumps(outcome.failed),
            "docs_url": outcome.docs_url,
        },
    )


def _failures(loads: pd.DataFrame, outcome: _Outcome) -> str:
    """Which load failed which rule, with the figures the rule judged (no personal data)."""
    shown = loads.set_index("load_id")
    lines = []
    for load_id, reasons in outcome.reasons.items():
        row = shown.loc[load_id]
        figures = (
            f"{row['entity']} {row['mode']} load, {row['records']} records, quarantined share "
            f"{row['quarantined_share']:.1%} ({row['rows_quarantined']} of {row['rows_judged']}), "
            f"volume share {_number(row['volume_share'])}, newest change "
            f"{_number(row['newest_age_hours'])} h old"
        )
        broken = "; ".join(f"{r['column']}: {r['expectation']}" for r in reasons)
        lines.append(f"  {load_id} ({figures}) failed {broken}")
    return "\n".join(lines)


def _number(value: Any) -> str:
    return "n/a" if pd.isna(value) else f"{value:.2f}"


def _breaker_message(loads: pd.DataFrame, outcome: _Outcome, run_id: str, config: Config) -> str:
    rules = "\n".join(f"  - {rule['rule']}" for rule in outcome.failed)
    return (
        "Quality gate closed: nothing of this run is staged, planned or sent.\n"
        f"Failed rules:\n{rules}\n"
        f"Loads:\n{_failures(loads, outcome)}\n"
        "Where to look: quality.validation_runs (run_id "
        f"{run_id!r}), quality.quarantine (the records and their reasons), the Data Docs at "
        f"{docs_index(config)}. Fix the data in the ATS and the next run judges these loads "
        "again with the fixes; if the data is right (say, a real mass deletion), trigger the "
        "run with the param override_quality_gate=true."
    )
