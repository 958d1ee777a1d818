"""The bodies of ``aftercare_engagement``'s tasks (runbook: dags/aftercare_engagement.md), in
the shape of every task body (`aftercare.tasks`): each provider feed loaded, the follow-ups,
the marts and the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftercare.config import load_config


def _load(feed: Callable[..., Any], provider: Callable[[Any], Any]) -> dict[str, int]:
    """Run one feed's load against its provider (opened from the connections), at the clock's
    present."""
    from aftercare.connections import clock, get_connection, open_warehouse
    from aftercare.providers.factory import Providers

    config = load_config()
    providers = Providers(config, "email", get_connection)

    with open_warehouse() as engine:
        return dict(feed(engine, config, provider(providers), clock().now()))


def load_sms() -> dict[str, int]:
    from aftercare.engagement import loads

    return _load(loads.load_sms, lambda p: p.sms)


def load_email() -> dict[str, int]:
    """SendGrid's activity; skipped for an SMTP relay, which reports nothing back."""
    from airflow.sdk.exceptions import AirflowSkipException

    from aftercare.engagement import loads

    if load_config().dispatch.email_transport == "smtp":
        raise AirflowSkipException("email goes through an SMTP relay: no events to load")
    return _load(loads.load_email, lambda p: p.email)


def load_reviews() -> dict[str, int]:
    from aftercare.engagement import loads

    return _load(loads.load_reviews, lambda p: p.reviews)


def load_ats() -> dict[str, int]:
    from aftercare.engagement import loads

    return _load(loads.load_ats, lambda p: p.ats)


def load_preferences() -> dict[str, int]:
    """The preferences service's opt-outs, referral clicks and video page events; skipped
    when no service is deployed (no ``aftercare_preferences`` connection)."""
    from airflow.sdk.exceptions import AirflowSkipException

    from aftercare import connections
    from aftercare.engagement import loads

    if not connections.has_connection(connections.PREFERENCES):
        raise AirflowSkipException("no aftercare_preferences connection: no service to read")

    return _load(loads.load_preferences, lambda p: p.preferences)


def follow_up() -> dict[str, int]:
    """The follow-ups responses ask for, and the notes of the touchpoints sent (when on)."""
    from aftercare.connections import clock, get_connection, open_warehouse
    from aftercare.engagement.followups import follow_up as make_follow_ups
    from aftercare.providers.factory import Providers

    config = load_config()
    ats = Providers(config, "phone", get_connection).ats
    with open_warehouse() as engine:
        return dict(make_follow_ups(engine, config, ats, clock().now()))


def rebuild_marts() -> dict[str, int]:
    from aftercare import marts
    from aftercare.connections import open_warehouse

    with open_warehouse() as engine:
        return marts.rebuild(engine)


def build_report(counts: dict[str, Any]) -> str:
    """The report (path from the config), with this run's counts; returns its path."""
    from aftercare import PROJECT_ROOT, report
    from aftercare.connections import open_warehouse

    path = PROJECT_ROOT / load_config().engagement.report_path
    flat = {
        f"{stage} {key}": value
        for stage, values in counts.items()
        for key, value in (values or {}).items()
    }

    with open_warehouse() as engine:
        return str(report.build(engine, path, flat))
