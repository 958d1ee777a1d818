"""What the ops console reads: one function per page section, over the queries of ``sql/ops/``.

Every function takes an open SQLAlchemy `Connection` (a DuckDB snapshot or the live Postgres
warehouse: `aftercare.connections.read_warehouse`) and plain values, and returns frozen
dataclasses of plain values (str, int, float, bool, date, datetime, tuples). The queries read
only; the same files run on DuckDB and Postgres, every value a bound parameter. Nothing here
logs: the views do carry contact details (the candidate page's), which the console shows only
to the users allowed to see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy.engine import Connection

from aftercare.config import Config, OpsSettings

#: the ledger's statuses, in the order the pages list them
STATUSES = ("planned", "sent", "failed", "suppressed", "expired", "cancelled")


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
    status; ``status`` is one of `STATUSES`."""

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


def today(conn: Connection, day: date) -> Today:
    """The Today page for local date ``day`` (the candidates' local due date, as the ledger
    stores it: no zone needed)."""
    raise NotImplementedError


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
    ``"none"`` for rows without a channel) and status, ordered by send time then id, at most
    ``limit``."""
    raise NotImplementedError


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
    raise NotImplementedError


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
    age_hours: float  # at the ``now`` given (candidate page: the warehouse's now)
    rejudge_requested_at: datetime | None


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
    raise NotImplementedError


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
    raise NotImplementedError


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
    purpose: str | None  # service | marketing when the config says, else None
    pause: Pause | None
    last_action: OpsAction | None


def milestones(conn: Connection, config: Config) -> list[MilestoneView]:
    """Every configured milestone, in the config's order."""
    raise NotImplementedError


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
    ``ended_at`` (the Airflow run's start and end; an open end: up to now). Sections that do
    not concern the DAG are empty."""
    raise NotImplementedError
