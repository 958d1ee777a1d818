"""The bodies of ``aftercare_nightly``'s tasks (runbook: dags/aftercare_nightly.md), in the
shape of every task body (`aftercare.tasks`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from aftercare.config import Config, load_config
from aftercare.connections import erasure_salt, open_ats, open_warehouse, warehouse_transaction

if TYPE_CHECKING:
    from aftercare.ats.base import Entity


def business_date(as_of: datetime, time_zone: str) -> date:
    """The local date a run works for (a scheduled run at 02:00 agency time: that day)."""
    return as_of.astimezone(ZoneInfo(time_zone)).date()


def read_only(preview_days: int, what: str) -> None:
    """A preview run (``preview_days``) reads the warehouse as it is and writes nothing: no pull,
    no gate, no staging, no plan, no run summary, no ledger update for the engagement DAG. Its
    writing tasks skip."""
    if preview_days:
        raise AirflowSkipException(f"a preview run writes nothing: {what} skipped")


def prepare_warehouse() -> dict[str, int]:
    from aftercare import warehouse

    with open_warehouse() as engine:
        return {"migrations_applied": len(warehouse.migrate(engine))}


def pull(entity: Entity, *, run_id: str, full_refresh: bool, preview_days: int) -> dict[str, int]:
    """Pull what changed in the ATS into raw.* (skipped in a preview run, and with it the gate,
    staging and the sweep that follow it)."""
    from aftercare import extract

    read_only(preview_days, "the pull")
    config = load_config()

    with open_warehouse() as engine:
        return extract.pull(
            engine,
            open_ats(config),
            config,
            entity,
            full=full_refresh,
            run_id=run_id,
            erasure_salt=erasure_salt,
        )


def validate(*, run_id: str, as_of: datetime, override: bool) -> dict[str, int]:
    """The quality gate; a tripped breaker fails the task without retries (a retry would judge
    the same data the same way)."""
    from aftercare.quality import gate

    with open_warehouse() as engine:
        try:
            return gate.validate(
                engine, load_config(), run_id=run_id, as_of=as_of, override=override
            )
        except gate.QualityGateError as exc:
            raise AirflowFailException(str(exc)) from exc


def stage() -> dict[str, int]:
    from aftercare import extract

    with open_warehouse() as engine:
        return extract.stage(engine)


def plan(*, as_of: datetime, full_refresh: bool, preview_days: int) -> dict[str, int]:
    """Plan the run's business date into the ledger; with ``preview_days`` only print what the
    next days would bring and skip: a skipped task updates no asset, so the preview starts no
    engagement run."""
    from aftercare import plan

    config = load_config()
    day = business_date(as_of, config.agency.time_zone)

    with open_warehouse() as engine:
        if preview_days:
            print(plan.format_preview(plan.preview(engine, config, day, preview_days)))
        else:
            # a full refresh re-reads the ATS: planning looks at every subject again too
            return plan.plan(engine, config, day, everything=full_refresh)
    read_only(preview_days, "planning (the preview is printed above)")
    return {}


def request_renders(*, as_of: datetime, full_refresh: bool, preview_days: int) -> dict[str, int]:
    """Ask Sendspark for the renders of the video touchpoints due within
    ``dispatch.sendspark.render_ahead_days`` (docs/sandbox-providers.md, "Sendspark"); skipped
    when no milestone's video has platform sendspark, and in a preview."""
    from aftercare.connections import get_connection
    from aftercare.dispatch import renders
    from aftercare.providers.factory import Providers

    config = load_config()
    read_only(preview_days, "render requests")
    if not renders.campaigns(config):
        raise AirflowSkipException("no milestone's video has platform sendspark")
    sendspark = Providers(config, "video", get_connection).sendspark
    with open_warehouse() as engine:
        return dict(renders.request_ahead(engine, config, sendspark, as_of))


def sweep_due(config: Config, day: date, *, full_refresh: bool) -> bool:
    """The deletion sweep runs on the configured weekday, and with every full refresh."""
    return full_refresh or day.strftime("%A").lower() == config.ats.full_sweep_weekday


def sweep(*, run_id: str, as_of: datetime, full_refresh: bool) -> dict[str, int]:
    """Flag the placements deleted in the ATS, when the sweep is due (else skip the task)."""
    from aftercare import extract

    config = load_config()
    day = business_date(as_of, config.agency.time_zone)
    if not sweep_due(config, day, full_refresh=full_refresh):
        raise AirflowSkipException("the deletion sweep runs weekly; not today")

    with open_warehouse() as engine:
        return extract.sweep(engine, open_ats(config), run_id=run_id)


def write_run_summary(
    stages: dict[str, list[dict[str, int] | None]],
    *,
    dag_id: str,
    run_id: str,
    as_of: datetime,
    preview_days: int,
) -> dict[str, Any]:
    """The run's counts per stage into aftercare.run_summaries (a preview run keeps the night's
    own row as it is)."""
    from aftercare import summary

    read_only(preview_days, "the run summary")
    with warehouse_transaction() as conn:
        return summary.record_run(
            conn,
            dag_id=dag_id,
            run_id=run_id,
            run_date=business_date(as_of, load_config().agency.time_zone),
            stages=stages,
        )
