"""The bodies of ``aftercare_nightly``'s tasks: each takes the task's Airflow context, does the
stage's work through the package, and returns its counts for the run summary (ids and counts
only). The DAG file wires them; see dags/aftercare_nightly.md for the runbook.

Imported by the DAG file at parse time, so the heavy modules (SQLAlchemy, the ATS client,
phonenumbers) are imported inside the functions, which only run in tasks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aftercare.config import load_config
from aftercare.runs import run_date, run_moment

if TYPE_CHECKING:
    from aftercare.ats.base import Entity


def prepare_warehouse() -> dict[str, int]:
    from aftercare import warehouse

    return {"migrations_applied": len(warehouse.migrate())}


def pull(entity: Entity, context: Any) -> dict[str, int]:
    from aftercare import extract, warehouse
    from aftercare.ats import open_ats

    config = load_config()

    with warehouse.connected() as engine:
        return extract.pull(
            engine,
            open_ats(config),
            config,
            entity,
            full=bool(context["params"]["full_refresh"]),
            run_id=context["run_id"],
        )


def validate(context: Any) -> dict[str, int]:
    """The quality gate; a tripped breaker fails the task without retries (a retry would judge
    the same data the same way)."""
    from airflow.sdk.exceptions import AirflowFailException

    from aftercare import warehouse
    from aftercare.quality import gate

    with warehouse.connected() as engine:
        try:
            return gate.validate(
                engine,
                load_config(),
                run_id=context["run_id"],
                as_of=run_moment(context),
                override=bool(context["params"]["override_quality_gate"]),
            )
        except gate.QualityGateError as exc:
            raise AirflowFailException(str(exc)) from exc


def stage() -> dict[str, int]:
    from aftercare import extract, warehouse

    with warehouse.connected() as engine:
        return extract.stage(engine)


def plan(context: Any) -> dict[str, int]:
    """Plan the run's business date into the ledger; with the param ``preview_days`` only
    print what the next days would bring, and write nothing."""
    from aftercare import plan, warehouse

    config = load_config()
    day = run_date(context, config.agency.time_zone)

    with warehouse.connected() as engine:
        days = int(context["params"]["preview_days"])
        if days:
            print(plan.format_preview(plan.preview(engine, config, day, days)))
            return {}
        # a full refresh re-reads the ATS: planning looks at every subject again too
        return plan.plan(engine, config, day, everything=bool(context["params"]["full_refresh"]))


def sweep_due(context: Any) -> bool:
    """The deletion sweep runs on the configured weekday, and with every full refresh."""
    config = load_config()
    weekday = run_date(context, config.agency.time_zone).strftime("%A").lower()
    return bool(context["params"]["full_refresh"]) or weekday == config.ats.full_sweep_weekday


def sweep(context: Any) -> dict[str, int]:
    from aftercare import extract, warehouse
    from aftercare.ats import open_ats

    config = load_config()

    with warehouse.connected() as engine:
        return extract.sweep(engine, open_ats(config), run_id=context["run_id"])


def write_run_summary(stages: dict[str, list[dict[str, int] | None]], context: Any) -> dict:
    from aftercare import summary, warehouse

    with warehouse.transaction() as conn:
        return summary.record_run(
            conn,
            dag_id=context["dag"].dag_id,
            run_id=context["run_id"],
            run_date=run_date(context, load_config().agency.time_zone),
            stages=stages,
        )
