"""The bodies of ``aftercare_erasure``'s tasks (runbook: dags/aftercare_erasure.md), in the
shape of every task body (`aftercare.tasks`): erase the candidates asked for (or those the ATS
anonymised or deleted), and, weekly, enforce the retention of what can hold personal data."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from aftercare.config import Config, load_config

if TYPE_CHECKING:
    from aftercare.providers.video import OwnVideoPages


def erase(
    *, candidate_ids: list[int], run_id: str, requested_by: str, requested_at: datetime
) -> dict[str, int]:
    """Erase the candidates of the trigger's ``candidate_ids``, or, without any, those the ATS
    anonymised or deleted whose data is still held. Counts only."""
    from aftercare import privacy
    from aftercare.connections import erasure_salt, get_connection, open_warehouse, staging_path
    from aftercare.privacy import erasure
    from aftercare.providers.factory import Providers

    config = load_config()
    texts = Providers(config, "sms", get_connection).sms
    email = Providers(config, "email", get_connection)
    emails = email.email if config.dispatch.email_transport == "sendgrid" else None
    pages = _video_pages(config)
    hasher = privacy.Hasher(erasure_salt())
    with open_warehouse() as engine:
        ids = candidate_ids or erasure.candidates_removed_in_ats(engine)
        request = erasure.Request(
            run_id, requested_by, "request" if candidate_ids else "ats", requested_at
        )
        return erasure.erase(
            engine,
            config,
            ids,
            request,
            hasher=hasher,
            staging=staging_path,
            texts=texts,
            emails=emails,
            pages=pages,
        )


def retain(*, as_of: datetime) -> dict[str, int]:
    """Remove what is past its retention: weekly, on the day of the ATS deletion sweep (the
    task is skipped on the others)."""
    from airflow.sdk.exceptions import AirflowSkipException

    from aftercare.connections import clock, open_warehouse
    from aftercare.privacy import retention
    from aftercare.tasks.nightly import business_date, sweep_due

    config = load_config()
    if not sweep_due(config, business_date(as_of, config.agency.time_zone), full_refresh=False):
        raise AirflowSkipException("retention runs weekly, on the sweep's day; not today")
    with open_warehouse() as engine:
        return retention.enforce(engine, config, clock().now(), _video_pages(config))


def _video_pages(config: Config) -> OwnVideoPages | None:
    """The preferences service's video pages, when a service is deployed."""
    from aftercare import connections
    from aftercare.providers.factory import Providers

    if not connections.has_connection(connections.PREFERENCES):
        return None
    return Providers(config, "video", connections.get_connection).video
