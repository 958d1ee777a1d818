"""What the ops console reads: one function per page section, over the queries of ``sql/ops/``.

Every function takes an open SQLAlchemy `Connection` (a DuckDB snapshot or the live Postgres
warehouse: `aftercare.connections.read_warehouse`) and plain values, and returns frozen
dataclasses of plain values (str, int, float, bool, date, datetime, tuples). The queries read
only; the same files run on DuckDB and Postgres, every value a bound parameter. Nothing here
logs: the views do carry contact details (the candidate page's), which the console shows only
to the users allowed to see them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import rphonenumbers as phonenumbers
from sqlalchemy.engine import Connection

from aftercare import warehouse
from aftercare.config import Config, OpsSettings
from aftercare.names import OPS_DAG

#: a ledger row's statuses, in the order the console's tables show them
STATUSES = ("planned", "sent", "failed", "suppressed", "expired", "cancelled")

#: the DAGs whose runs have sections of their own in a run's view (`run`)
NIGHTLY, DISPATCH, ENGAGEMENT = "aftercare_nightly", "aftercare_dispatch", "aftercare_engagement"

_T = TypeVar("_T")


def _plain(value: Any) -> Any:
    """A value as the views hold it: instants in UTC (each backend returns them in its
    session's zone)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def _view(cls: type[_T], row: dict[str, Any], **extra: Any) -> _T:
    """A dataclass of a query's row: its fields by name (``extra`` fills or overrides some)."""
    values = {**row, **extra}
    return cls(**{f.name: _plain(values[f.name]) for f in fields(cls)})  # type: ignore[arg-type]


def _rows(conn: Connection, cls: type[_T], name: str, params: dict[str, Any]) -> tuple[_T, ...]:
    return tuple(_view(cls, row) for row in warehouse.query_file(conn, f"ops/{name}", params))


# --------------------------------------------------------------------------------------------
# shared pieces


@dataclass(frozen=True)
class Pause:
    """A paused milestone (``aftercare.milestone_pauses``): sends nothing until resumed."""

    milestone: str
    paused_by: str
    paused_at: datetime
    comment: str
    action_id: str


@dataclass(frozen=True)
class OpsAction:
    """An operator's action as applied (``aftercare.ops_actions``)."""

    action_id: str
    kind: str  # pause | resume | rejudge
    target: str
    comment: str
    requested_by: str
    requested_at: datetime
    applied_at: datetime


@dataclass(frozen=True)
class TouchpointRow:
    """One ledger row, as a page lists it."""

    touchpoint_id: str
    milestone: str
    candidate_id: int
    placement_id: int | None
    channel: str | None
    status: str
    reason: str | None
    due_date: date
    window_end: date | None
    send_at: datetime | None
    sent_at: datetime | None
    updated_at: datetime
    provider_message_id: str | None
    attempts: int
    in_doubt: bool


# --------------------------------------------------------------------------------------------
# Today


@dataclass(frozen=True)
class StatusCount:
    """Touchpoints due on the day of one milestone and channel (``None``: no channel) in one
    status."""

    milestone: str
    channel: str | None
    status: str
    count: int


@dataclass(frozen=True)
class QuarantineCount:
    """Open quarantine rows of one entity (``Placement``, ``Candidate``) failing one rule
    (a row failing two rules counts under both)."""

    entity: str
    expectation: str
    field: str | None
    count: int


@dataclass(frozen=True)
class Breaker:
    """The quality gate's load suite (the circuit breaker) on the last nightly run that ran it
    (``quality.validation_runs``, suite ``loads``): ``tripped`` when a load failed it (nothing
    of that run was staged, unless it was overridden)."""

    run_id: str
    validated_at: datetime
    tripped: bool
    loads_judged: int
    loads_failed: int
    failed_rules: tuple[str, ...]  # "<column>: <expectation>", one per failed rule
    docs_url: str | None


@dataclass(frozen=True)
class Today:
    day: date
    counts: tuple[StatusCount, ...]  # only non-zero cells
    in_doubt: tuple[TouchpointRow, ...]  # every row in doubt, whatever its due date
    quarantine: tuple[QuarantineCount, ...]
    quarantine_open: int  # open quarantine rows (each counted once)
    breaker: Breaker | None  # None: no nightly run has judged a load yet
    pauses: tuple[Pause, ...]
    # with nothing due on ``day``: the nearest due dates before and after it that hold
    # touchpoints (None: none, or something is due on ``day``)
    earlier_day: date | None = None
    later_day: date | None = None


def today(conn: Connection, day: date, *, limit: int = 200) -> Today:
    """The Today page for local date ``day`` (the candidates' local due date, as the ledger
    stores it: no zone needed); at most ``limit`` rows in doubt."""
    counts = tuple(
        StatusCount(row["milestone"], row["channel"], row["status"], int(row["touchpoints"]))
        for row in warehouse.query_file(conn, "ops/today_counts.sql", {"day": day})
    )
    reasons = warehouse.query_file(conn, "ops/quarantine_reasons.sql")
    open_rows = _quarantine_rows(conn, None, None, 1)
    nearest = {}
    if not counts:
        [nearest] = warehouse.query_file(conn, "ops/nearest_due_days.sql", {"day": day})
    return Today(
        day=day,
        counts=counts,
        in_doubt=_rows(conn, TouchpointRow, "touchpoints_in_doubt.sql", {"row_limit": limit}),
        quarantine=tuple(
            QuarantineCount(r["entity"], r["expectation"], r["field"], int(r["rows_open"]))
            for r in reasons
        ),
        quarantine_open=int(open_rows[0]["total"]) if open_rows else 0,
        breaker=_breaker(conn),
        pauses=_rows(conn, Pause, "pauses.sql", {}),
        earlier_day=nearest.get("earlier_day"),
        later_day=nearest.get("later_day"),
    )


def _breaker(conn: Connection) -> Breaker | None:
    rows = warehouse.query_file(conn, "ops/breaker.sql")
    if not rows:
        return None
    [row] = rows
    failed = json.loads(row["failed_expectations"])
    return Breaker(
        run_id=row["run_id"],
        validated_at=_plain(row["validated_at"]),
        tripped=not row["success"],
        loads_judged=int(row["evaluated"]),
        loads_failed=int(row["failed"]),
        failed_rules=tuple(_rule(rule) for rule in failed),
        docs_url=row["docs_url"],
    )


def _rule(reason: dict[str, Any]) -> str:
    """A failed rule as the pages show it: ``<column>: <expectation>``."""
    return f"{reason.get('column')}: {reason['expectation']}"


def touchpoints(
    conn: Connection,
    *,
    day: date,
    milestone: str | None = None,
    channel: str | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[TouchpointRow]:
    """The rows behind a Today count: due on ``day``, filtered by milestone, channel (the text
    ``"none"`` for rows without a channel) and status (each ``None``: any), ordered by send
    time then id, at most ``limit``."""
    params = {
        "day": day,
        "milestone": milestone,
        "channel": channel,
        "status": status,
        "row_limit": limit,
    }
    return list(_rows(conn, TouchpointRow, "touchpoints_of_day.sql", params))


# --------------------------------------------------------------------------------------------
# Failures


@dataclass(frozen=True)
class BatchRef:
    """A dispatch batch that carried a touchpoint: link to its run's send task log."""

    run_id: str
    batch_id: str
    channel: str
    created_at: datetime


@dataclass(frozen=True)
class FailureGroup:
    """Failed and in-doubt touchpoints of one provider and error code. ``provider`` is the
    reason's prefix (``twilio`` of ``twilio_21211``), else the route of the last try
    (``email``, ``sms``, ``phone``) for reasons that name no provider (``unrenderable``,
    ``unconfirmed``) and for rows in doubt, whose ``code`` is ``in_doubt``."""

    provider: str
    code: str
    count: int
    first_seen: datetime  # the ledger's updated_at of the group's rows
    last_seen: datetime
    sample_ids: tuple[str, ...]  # up to ops.sample_ids touchpoint ids, latest first
    batches: tuple[BatchRef, ...]  # the latest batches that carried them (up to ops.sample_ids)


@dataclass(frozen=True)
class ChannelRates:
    """Of the touchpoints sent on ``channel`` in the last ``days`` days (by ``sent_at``), those
    that hard-bounced (email: a ``bounced`` event of type hard; sms: ``undelivered`` or
    ``failed`` at the carrier) and those reported as spam (email ``spam_report``), against the
    configured thresholds. Rates are ``None`` when nothing was sent."""

    channel: str
    days: int
    sent: int
    hard_bounces: int
    complaints: int
    hard_bounce_rate: float | None
    complaint_rate: float | None
    hard_bounce_over: bool  # rate above ops.hard_bounce_rate
    complaint_over: bool  # rate above ops.spam_complaint_rate


@dataclass(frozen=True)
class Failures:
    since: datetime  # now - ops.failure_days: the groups count rows updated since
    groups: tuple[FailureGroup, ...]  # most rows first
    rates: tuple[ChannelRates, ...]  # per channel that sent anything, 7 then 30 days
    hard_bounce_threshold: float
    complaint_threshold: float


def failures(conn: Connection, *, now: datetime, settings: OpsSettings) -> Failures:
    """The Failures page at instant ``now`` (aware)."""
    since = now - timedelta(days=settings.failure_days)
    params = {"since": since, "samples": settings.sample_ids}
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in warehouse.query_file(conn, "ops/failure_groups.sql", params):
        samples.setdefault((row["provider"], row["code"]), []).append(row)
    batches: dict[tuple[str, str], list[BatchRef]] = {}
    for row in warehouse.query_file(conn, "ops/failure_batches.sql", params):
        batches.setdefault((row["provider"], row["code"]), []).append(_view(BatchRef, row))
    groups = tuple(
        FailureGroup(
            provider=provider,
            code=code,
            count=int(rows[0]["touchpoints"]),
            first_seen=_plain(rows[0]["first_seen"]),
            last_seen=_plain(rows[0]["last_seen"]),
            sample_ids=tuple(row["touchpoint_id"] for row in rows),
            batches=tuple(batches.get((provider, code), ())),
        )
        for (provider, code), rows in samples.items()
    )
    return Failures(
        since=since,
        groups=groups,
        rates=_rates(conn, now, settings),
        hard_bounce_threshold=settings.hard_bounce_rate,
        complaint_threshold=settings.spam_complaint_rate,
    )


#: the periods the rates cover, in days
RATE_DAYS = (7, 30)


def _rates(conn: Connection, now: datetime, settings: OpsSettings) -> tuple[ChannelRates, ...]:
    params = {"now": now, **{f"since_{days}": now - timedelta(days=days) for days in RATE_DAYS}}
    rows = warehouse.query_file(conn, "ops/channel_rates.sql", params)
    rates = []
    for days in RATE_DAYS:
        for row in rows:
            sent = int(row[f"sent_{days}"])
            bounces, complaints = int(row[f"hard_bounces_{days}"]), int(row[f"complaints_{days}"])
            bounce_rate = bounces / sent if sent else None
            complaint_rate = complaints / sent if sent else None
            rates.append(
                ChannelRates(
                    channel=row["channel"],
                    days=days,
                    sent=sent,
                    hard_bounces=bounces,
                    complaints=complaints,
                    hard_bounce_rate=bounce_rate,
                    complaint_rate=complaint_rate,
                    hard_bounce_over=bounce_rate is not None
                    and bounce_rate > settings.hard_bounce_rate,
                    complaint_over=complaint_rate is not None
                    and complaint_rate > settings.spam_complaint_rate,
                )
            )
    return tuple(rates)


# --------------------------------------------------------------------------------------------
# Candidate look-up


@dataclass(frozen=True)
class PlacementRow:
    placement_id: int
    job_title: str | None
    client_name: str | None
    status: str
    employment_class: str
    is_active: bool
    is_deleted: bool
    start_date: date
    end_date: date | None
    owner_id: int | None


@dataclass(frozen=True)
class SuppressionRow:
    channel: str  # email | sms | all | marketing
    reason: str
    source: str
    created_at: datetime


@dataclass(frozen=True)
class EventRow:
    """A provider event (``engagement.delivery_events``) of one of the candidate's
    touchpoints."""

    event_id: str
    touchpoint_id: str | None
    channel: str
    event: str
    event_at: datetime
    provider_message_id: str | None


@dataclass(frozen=True)
class ResponseRow:
    response_id: str
    kind: str  # review | referral | reply | availability | opt_out
    occurred_at: datetime
    touchpoint_id: str | None
    detail: str  # the json detail as text (stars, sentiment, answer, ...)


@dataclass(frozen=True)
class QuarantineRow:
    entity: str
    record_id: str
    load_id: str
    reasons: tuple[str, ...]  # "<column>: <expectation>", one per failed rule
    fields: tuple[str, ...]  # the failing columns (field names), sorted
    quarantined_at: datetime
    released_at: datetime | None  # None: open (the quarantine page lists open rows only)
    rejudge_requested_at: datetime | None  # judge again on the next nightly run, asked then
    age_hours: float | None  # since quarantined, at the quarantine page's ``now``; None on the
    # candidate page (it shows when quarantined and released)


@dataclass(frozen=True)
class CandidateView:
    """Everything about one candidate: "why did (or didn't) they get that message". Contact
    fields are personal data: mask them for users not allowed to see them. ``staged`` is false
    when the candidate is known only from the ledger or quarantine (never staged: its contact
    fields are then ``None``)."""

    candidate_id: int
    staged: bool
    first_name: str | None
    last_name: str | None
    email: str | None
    mobile_e164: str | None
    phone_e164: str | None
    time_zone: str | None
    email_opt_out: bool | None
    sms_opt_in: bool | None
    is_anonymized: bool | None
    is_deleted: bool | None
    placements: tuple[PlacementRow, ...]
    touchpoints: tuple[TouchpointRow, ...]  # newest due date first
    suppressions: tuple[SuppressionRow, ...]
    events: tuple[EventRow, ...]  # newest first
    responses: tuple[ResponseRow, ...]  # newest first
    quarantine: tuple[QuarantineRow, ...]  # the candidate's and its placements', open or not
    other_matches: tuple[int, ...]  # other candidate ids the query matched (a shared email)
    matched_by: str  # candidate_id | email | mobile


def candidate(conn: Connection, query: str, *, region: str) -> CandidateView | None:
    """Look a candidate up by ATS candidate id, email (any case) or mobile as a person types
    it (national or international format, spaces, dashes: normalised with ``phonenumbers`` in
    ``region``, the agency's ``default_region``, to E.164 as staging stores it). ``None``:
    nothing matched."""
    text = query.strip()
    asked = {
        # an id is digits (bigint's width at most); digits may also be a mobile typed bare
        "candidate_id": int(text) if text.isdigit() and len(text) <= 18 else None,
        "email": text.lower() if "@" in text else None,
        "mobile": None if "@" in text else _e164(text, region),
    }
    if not any(asked.values()):
        return None
    matches = warehouse.query_file(conn, "ops/candidate_matches.sql", asked)
    if not matches:
        return None
    best = min(matches, key=lambda m: (MATCH_ORDER.index(m["matched_by"]), m["candidate_id"]))
    candidate_id = int(best["candidate_id"])
    params = {"candidate_id": candidate_id}
    staged = warehouse.query_file(conn, "ops/candidate.sql", params)
    person: dict[str, Any] = staged[0] if staged else dict.fromkeys(_PERSON_FIELDS)
    return _view(
        CandidateView,
        person,
        candidate_id=candidate_id,
        staged=bool(staged),
        placements=_rows(conn, PlacementRow, "candidate_placements.sql", params),
        touchpoints=_rows(
            conn,
            TouchpointRow,
            "touchpoints_of_candidate.sql",
            {**params, "row_limit": CANDIDATE_TOUCHPOINTS},
        ),
        suppressions=_rows(conn, SuppressionRow, "candidate_suppressions.sql", params),
        events=_rows(conn, EventRow, "candidate_events.sql", params),
        responses=_rows(conn, ResponseRow, "candidate_responses.sql", params),
        quarantine=tuple(
            _quarantine_row(row, None)
            for row in warehouse.query_file(conn, "ops/candidate_quarantine.sql", params)
        ),
        other_matches=tuple(sorted({int(m["candidate_id"]) for m in matches} - {candidate_id})),
        matched_by=best["matched_by"],
    )


#: which match a look-up shows when several candidates match: an id before an email before a
#: mobile (a shared address or number lists the others in ``other_matches``)
MATCH_ORDER = ("candidate_id", "email", "mobile")
#: the most touchpoints a candidate page lists (years of yearly milestones fit many times)
CANDIDATE_TOUCHPOINTS = 1000
#: what staging alone knows of a candidate (``None`` for one never staged)
_PERSON_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "mobile_e164",
    "phone_e164",
    "time_zone",
    "email_opt_out",
    "sms_opt_in",
    "is_anonymized",
    "is_deleted",
)


def _e164(text: str, region: str) -> str | None:
    """A mobile as a person types it (``07700 900123``, ``+44 7700-900123``) in E.164, read in
    ``region`` when it has no country code; ``None`` when it is no valid number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --------------------------------------------------------------------------------------------
# Quarantine


@dataclass(frozen=True)
class ReasonCount:
    """One failed rule and the open rows failing it (for the filter)."""

    expectation: str
    field: str | None
    count: int


@dataclass(frozen=True)
class QuarantineView:
    rows: tuple[QuarantineRow, ...]  # open rows (released_at null), oldest first, up to limit
    total: int  # open rows matching the filter (rows may be fewer: the limit)
    reasons: tuple[ReasonCount, ...]  # every failed rule among all open rows, most first


def quarantine(
    conn: Connection,
    *,
    now: datetime,
    reason: str | None = None,
    field: str | None = None,
    limit: int = 200,
) -> QuarantineView:
    """Open quarantine rows, those failing expectation ``reason`` (on column ``field``, when
    given) only when given."""
    rows = _quarantine_rows(conn, reason, field, limit)
    reasons: dict[tuple[str, str | None], int] = {}
    for row in warehouse.query_file(conn, "ops/quarantine_reasons.sql"):
        key = (row["expectation"], row["field"])
        reasons[key] = reasons.get(key, 0) + int(row["rows_open"])
    return QuarantineView(
        rows=tuple(_quarantine_row(row, now) for row in rows),
        total=int(rows[0]["total"]) if rows else 0,
        reasons=tuple(
            ReasonCount(expectation, column, count)
            for (expectation, column), count in sorted(
                reasons.items(), key=lambda item: (-item[1], item[0][0], item[0][1] or "")
            )
        ),
    )


def _quarantine_rows(
    conn: Connection, expectation: str | None, field: str | None, limit: int
) -> list[dict[str, Any]]:
    params = {"expectation": expectation, "field": field, "row_limit": limit}
    return warehouse.query_file(conn, "ops/quarantine_rows.sql", params)


def _quarantine_row(row: dict[str, Any], now: datetime | None) -> QuarantineRow:
    reasons = json.loads(row["reasons"])
    quarantined_at = _plain(row["quarantined_at"])
    return _view(
        QuarantineRow,
        row,
        reasons=tuple(_rule(reason) for reason in reasons),
        fields=tuple(sorted({r["column"] for r in reasons if r.get("column")})),
        released_at=row.get("released_at"),
        age_hours=None if now is None else (now - quarantined_at).total_seconds() / 3600,
    )


# --------------------------------------------------------------------------------------------
# Milestones


@dataclass(frozen=True)
class MilestoneView:
    """A milestone's rules as configured (``planning.milestones``), its pause and the last
    action applied to it."""

    name: str
    subject: str  # placement | candidate
    anchor: str  # start_date | end_date | date_of_birth
    offset_days: int
    repeat: str  # once | yearly
    window_days: int
    send_time: time  # local wall-clock time
    weekdays_only: bool
    channels: tuple[str, ...]  # in order of preference
    purpose: str  # service | marketing (planning.milestones.<name>.purpose)
    pause: Pause | None
    last_action: OpsAction | None


def milestones(conn: Connection, config: Config) -> list[MilestoneView]:
    """Every configured milestone, in the config's order."""
    pauses = {p.milestone: p for p in _rows(conn, Pause, "pauses.sql", {})}
    actions = {a.target: a for a in _rows(conn, OpsAction, "milestone_actions.sql", {})}
    return [
        MilestoneView(
            name=name,
            subject=milestone.subject,
            anchor=milestone.anchor,
            offset_days=milestone.offset_days,
            repeat=milestone.repeat,
            window_days=milestone.window_days,
            send_time=milestone.send_time,
            weekdays_only=milestone.weekdays_only,
            channels=tuple(milestone.channels),
            purpose=milestone.purpose,
            pause=pauses.get(name),
            last_action=actions.get(name),
        )
        for name, milestone in config.planning.milestones.items()
    ]


# --------------------------------------------------------------------------------------------
# one run of a DAG


@dataclass(frozen=True)
class RunSummary:
    """The nightly run's counts (``aftercare.run_summaries``) for one business date."""

    run_date: date
    counts: str  # the json counts as text
    recorded_at: datetime


@dataclass(frozen=True)
class LoadRow:
    """A pull the run made from the ATS (``raw.loads``)."""

    load_id: str
    entity: str
    mode: str
    records: int
    started_at: datetime
    extracted_at: datetime | None
    validated_at: datetime | None
    staged_at: datetime | None


@dataclass(frozen=True)
class ValidationRow:
    """One GX validation of the run (``quality.validation_runs``)."""

    suite: str
    chunk: int
    evaluated: int
    failed: int
    success: bool
    validated_at: datetime
    docs_url: str | None


@dataclass(frozen=True)
class BatchView:
    """A dispatch batch the run wrote, with its folded outcomes."""

    batch_id: str
    channel: str
    touchpoints: int
    dry_run: bool
    created_at: datetime
    recorded_at: datetime | None  # None: not folded yet (in flight)
    outcomes: str | None  # json {"sent": n, "failed": n, ...} as text


@dataclass(frozen=True)
class LoadedCount:
    """What the warehouse loaded during the run's interval (engagement runs record no run id):
    ``table`` ``delivery_events`` (``kind`` = channel/event), ``responses`` (``kind``),
    ``actions`` (``kind`` = action), ``suppressions`` (``kind`` = channel/reason)."""

    table: str
    kind: str
    count: int


@dataclass(frozen=True)
class RunView:
    dag_id: str
    run_id: str
    summaries: tuple[RunSummary, ...]  # nightly
    loads: tuple[LoadRow, ...]  # nightly
    validations: tuple[ValidationRow, ...]  # nightly
    batches: tuple[BatchView, ...]  # dispatch
    loaded: tuple[LoadedCount, ...]  # engagement: what its interval loaded
    actions: tuple[OpsAction, ...]  # ops: the actions applied in its interval


def run(
    conn: Connection,
    *,
    dag_id: str,
    run_id: str,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> RunView:
    """What one run of an aftercare DAG did: the nightly run's summary, loads and validations
    (by run id); dispatch's batches (by run id); for engagement and ops runs, which the
    warehouse records by time only, what was loaded or applied between ``started_at`` and
    ``ended_at`` (the Airflow run's start and end; no end: a run still going; no start: those
    sections stay empty). Sections that do not concern the DAG are empty."""
    by_id = {"dag_id": dag_id, "run_id": run_id}
    nightly, dispatch = dag_id == NIGHTLY, dag_id == DISPATCH
    loaded: tuple[LoadedCount, ...] = ()
    actions: tuple[OpsAction, ...] = ()
    if started_at is not None:
        # an open end (a run still going): up to the end of time
        interval = {
            "started_at": started_at,
            "ended_at": ended_at or datetime.max.replace(tzinfo=UTC),
        }
        if dag_id == ENGAGEMENT:
            loaded = tuple(
                LoadedCount(row["loaded"], row["kind"], int(row["loaded_rows"]))
                for row in warehouse.query_file(conn, "ops/run_loaded.sql", interval)
            )
        elif dag_id == OPS_DAG:
            actions = _rows(conn, OpsAction, "run_actions.sql", interval)
    return RunView(
        dag_id=dag_id,
        run_id=run_id,
        summaries=_rows(conn, RunSummary, "run_summaries.sql", by_id) if nightly else (),
        loads=_rows(conn, LoadRow, "run_loads.sql", by_id) if nightly else (),
        validations=_rows(conn, ValidationRow, "run_validations.sql", by_id) if nightly else (),
        batches=_rows(conn, BatchView, "run_batches.sql", by_id) if dispatch else (),
        loaded=loaded,
        actions=actions,
    )
