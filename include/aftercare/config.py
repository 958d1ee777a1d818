"""The one YAML configuration file, validated by pydantic.

`load_config()` reads the file named by the environment variable ``AFTERCARE_CONFIG`` (default:
``config/aftercare.yaml``). Unknown keys and bad values raise `ConfigError`, whose message names
the file and the field, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
import re
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import rphonenumbers as phonenumbers
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    model_validator,
)

from aftercare import DEFAULT_CONFIG

CONFIG_ENV = "AFTERCARE_CONFIG"


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or invalid."""


def _iana_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


def _region(code: str) -> str:
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown ISO 3166 region code {code!r}")
    return code


def _http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ValueError(f"{url!r} is not an http(s) URL without a #fragment")
    return url


def _https_url(url: str) -> str:
    if urlsplit(_http_url(url)).scheme != "https":
        raise ValueError(f"{url!r} is not an https URL")
    return url


TimeZoneName = Annotated[str, AfterValidator(_iana_zone)]
RegionCode = Annotated[str, AfterValidator(_region)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
EmploymentClass = Literal["permanent", "temp", "contract"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Agency(_Strict):
    name: str = Field(min_length=1)
    time_zone: TimeZoneName
    #: region for phone numbers written without a country code, and for unknown addresses
    default_region: RegionCode


class AtsSettings(_Strict):
    """How we pull from the ATS and how its values map onto ours."""

    rate_limit_per_minute: int = Field(gt=0)
    page_size: int = Field(ge=1, le=500)
    overlap_minutes: float = Field(ge=0)
    timeout_seconds: float = Field(gt=0)
    max_attempts: int = Field(ge=1)
    active_statuses: list[str] = Field(min_length=1)
    employment_classes: dict[str, EmploymentClass]
    full_sweep_weekday: Weekday


class Pool(_Strict):
    slots: int = Field(ge=1)
    description: str = ""
    #: the warehouse pool's slots on a Postgres warehouse (``slots``: on DuckDB, which admits one
    #: writer process); at most 16, each a task with a warehouse connection or two
    postgres_slots: int | None = Field(None, ge=1, le=16)

    def slots_for(self, backend: str) -> int:
        """The slots on a warehouse of ``backend`` (SQLAlchemy's name: duckdb, postgresql)."""
        if backend == "postgresql" and self.postgres_slots is not None:
            return self.postgres_slots
        return self.slots


class AirflowSettings(_Strict):
    owner: str = Field(min_length=1)
    retries: int = Field(ge=0)
    retry_delay_seconds: float = Field(gt=0)
    max_retry_delay_seconds: float = Field(gt=0)
    #: dispatch's send tasks retry sooner: a retry waits for its batch's claim and looks up
    #: what the try before it had in flight, so an early retry never sends twice
    send_retry_delay_seconds: float = Field(gt=0)
    send_max_retry_delay_seconds: float = Field(gt=0)
    pools: dict[str, Pool]

    @model_validator(mode="after")
    def _warehouse_pool(self) -> AirflowSettings:
        from aftercare.names import WAREHOUSE_POOL

        if WAREHOUSE_POOL not in self.pools:
            raise ValueError(f"pools: {WAREHOUSE_POOL} is missing (the warehouse tasks' pool)")
        others = sorted(
            name
            for name, pool in self.pools.items()
            if pool.postgres_slots and name != WAREHOUSE_POOL
        )
        if others:
            raise ValueError(
                f"pools {others}: postgres_slots is the warehouse pool's only ({WAREHOUSE_POOL})"
            )
        return self


class VolumeSettings(_Strict):
    """A load suspiciously small against what came before fails the gate."""

    #: a full load must bring at least this share of the records staging holds
    full_min_share: float = Field(gt=0, le=1)
    #: an incremental load must bring at least this share of the median of recent ones
    incremental_min_share: float = Field(ge=0, le=1)
    #: how many recent incremental loads make that median, and how many it needs at least
    lookback_loads: int = Field(ge=1)
    min_history: int = Field(ge=1)


class QualitySettings(_Strict):
    """The validation gate between the ATS and staging (aftercare.quality)."""

    #: every placement status the ATS uses (the active ones among them); others are quarantined
    placement_statuses: list[str] = Field(min_length=1)
    min_age_at_start: int = Field(ge=0)
    max_age_at_start: int = Field(gt=0)
    #: the circuit breaker: a load whose quarantined share exceeds this stops the run ...
    max_quarantined_share: float = Field(ge=0, le=1)
    #: ... once at least this many of its rows are quarantined (a night of 3 changes, 1 bad,
    #: is a quarantined row, not an outage)
    breaker_min_rows: int = Field(ge=1)
    #: the newest change the warehouse knows of an entity may be at most this old
    freshness_max_age_hours: float = Field(gt=0)
    volume: VolumeSettings
    #: rows validated at a time (memory stays flat whatever the load)
    chunk_rows: int = Field(ge=100)
    #: the GX project (suites, results, Data Docs), relative to the project folder
    gx_project_dir: Path


Channel = Literal["email", "sms", "video", "phone"]


class Milestone(_Strict):
    """A date-relative touchpoint: due ``offset_days`` after its subject's ``anchor`` date
    (once, or every year), sent on the first eligible of its channels. A new milestone needs
    only an entry here and its templates."""

    subject: Literal["placement", "candidate"] = "placement"
    #: the lawful basis it needs (docs/privacy.md): ``service``, a neutral message about the
    #: placement (first day, check-in), or ``marketing`` (the default: a milestone not marked
    #: otherwise stops for a candidate who asked to stop marketing messages)
    purpose: Literal["service", "marketing"] = "marketing"
    anchor: Literal["start_date", "end_date", "date_of_birth"]
    offset_days: int = 0
    #: once per subject, or every year (the Nth anniversary of the anchor; 29 Feb: 28 Feb)
    repeat: Literal["once", "yearly"] = "once"
    #: yearly: the occurrence is the years since the anchor (anniversaries, from this number
    #: on) or the calendar year (birthdays)
    occurrence: Literal["years_since", "calendar_year"] = "years_since"
    first_occurrence: int = 1
    #: days after the due date it may still go out
    window_days: int = Field(ge=0)
    #: the window never runs past the anchor date (an availability check before the end)
    window_ends_by_anchor: bool = False
    send_time: time
    channels: list[Channel] = Field(min_length=1)
    #: Monday to Friday only: a due date on a weekend moves to the Monday
    weekdays_only: bool = False
    #: recruiter tasks do not count against the frequency cap
    cap_exempt: bool = False
    #: only placements of these employment classes (all when empty)
    employment_classes: list[EmploymentClass] = []
    #: not when the same milestone was sent to the candidate within this many days
    not_within_days: int | None = Field(None, ge=1)
    #: not when the placement's check-in drew a negative reply
    blocked_by_negative_reply: bool = False
    #: not when another placement of the candidate starts within this many days of the anchor
    no_next_placement_within_days: int | None = Field(None, ge=0)
    #: candidate milestones: the candidate has a placement active that day or ended within
    #: this many days
    recent_placement_days: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Milestone:
        if (self.subject == "candidate") != (self.anchor == "date_of_birth"):
            raise ValueError("date_of_birth is the anchor of candidate milestones, and only theirs")
        if self.subject == "candidate" and self.recent_placement_days is None:
            raise ValueError("a candidate milestone needs recent_placement_days")
        return self


class FrequencyCap(_Strict):
    per_day: int = Field(ge=1)
    per_7_days: int = Field(ge=1)


class PlanningSettings(_Strict):
    """How the plan stage turns milestones into the touchpoint ledger (sql/cohorts/)."""

    #: how many days back a run still writes occurrences that fell due and whose window
    #: passed unsent (as expired)
    look_back_days: int = Field(ge=0)
    quiet_hours_start: time
    quiet_hours_end: time
    frequency_cap: FrequencyCap
    #: when more fall due than the cap allows, the first of these are kept
    priority: list[str] = Field(min_length=1)
    milestones: dict[str, Milestone] = Field(min_length=1)

    def quiet(self, moment: time) -> bool:
        """Whether a local wall-clock time falls in the quiet hours."""
        start, end = self.quiet_hours_start, self.quiet_hours_end
        return (start <= moment or moment < end) if start > end else start <= moment < end

    @model_validator(mode="after")
    def _consistent(self) -> PlanningSettings:
        for name, milestone in self.milestones.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"milestone name {name!r}: lower case letters, digits and _")
            if self.quiet(milestone.send_time):
                raise ValueError(
                    f"milestones.{name}.send_time {milestone.send_time} is inside the quiet "
                    f"hours {self.quiet_hours_start}-{self.quiet_hours_end}"
                )
        capped = {n for n, m in self.milestones.items() if not m.cap_exempt}
        if missing := capped - set(self.priority):
            raise ValueError(f"priority does not rank milestones {sorted(missing)}")
        if unknown := set(self.priority) - set(self.milestones):
            raise ValueError(f"priority names unknown milestones {sorted(unknown)}")
        return self


class SmsCheck(_Strict):
    """The longest plausible values: every sms template, rendered with them, must fit in
    ``max_segments`` SMS segments (checked when the templates load, aftercare.messages)."""

    first_name_chars: int = Field(20, ge=1)
    job_title_chars: int = Field(40, ge=1)
    client_chars: int = Field(40, ge=1)
    recruiter_name_chars: int = Field(30, ge=1)
    recruiter_contact_chars: int = Field(40, ge=1)
    link_chars: int = Field(60, ge=1)
    max_segments: int = Field(2, ge=1)


class MessageSettings(_Strict):
    """What the messages say about their sender, and where their links point
    (aftercare.messages)."""

    sender_name: str = Field(min_length=1)
    sender_email: EmailStr
    reply_to: EmailStr
    #: shown (and used as the sign-off contact) when a placement's recruiter is unknown
    recruiter_contact: str = Field(min_length=1)
    #: the referral link is this plus ``?ref=<signed token>``
    referral_link_base: HttpUrl
    #: the signed unsubscribe link is this plus ``?token=<signed token>`` (the preferences
    #: service's /unsubscribe; https in production: RFC 8058's one-click needs it)
    unsubscribe_link_base: HttpUrl
    #: a video touchpoint's personalised page is this plus ``/<signed token>`` (the
    #: preferences service's ``/v``; the service makes each page's link)
    video_page_base: HttpUrl = "https://demo-recruitment.example/v"
    #: the mailto of every email's List-Unsubscribe header (a mailbox the agency reads)
    unsubscribe_mailto: EmailStr
    #: the locale asked of the review platform (BCP 47, e.g. en-GB)
    review_locale: str = Field(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")
    sms_check: SmsCheck = SmsCheck()


Provider = Literal["sendgrid", "smtp", "twilio", "video", "reviews", "ats"]


class ProviderLimit(_Strict):
    """How hard we may press one provider."""

    #: messages (calls) per second across all send tasks of the provider's channel
    messages_per_second: float = Field(gt=0)
    #: requests in flight at once within one send task
    concurrency: int = Field(ge=1, le=256)


class VideoSettings(_Strict):
    """One milestone's video: the agency's own recording, shown on our own personalised page
    (``platform: own``, the default) or rendered by Sendspark (``platform: sendspark``, its
    dynamic campaign ``sendspark_campaign``)."""

    #: the recording: a video file (``kind: file``, played in a ``<video>`` element) or a page
    #: of the agency's own video host to embed (``kind: embed``, in an ``<iframe>``)
    recording: HttpsUrl
    kind: Literal["file", "embed"] = "file"
    #: the still shown before it plays, and in the email (with a play button)
    poster: HttpsUrl | None = None
    platform: Literal["own", "sendspark"] = "own"
    #: the Sendspark dynamic campaign holding the recording (platform sendspark)
    sendspark_campaign: str | None = None

    @model_validator(mode="after")
    def _campaign_for_sendspark(self) -> VideoSettings:
        if self.platform == "sendspark" and not self.sendspark_campaign:
            raise ValueError("platform sendspark needs sendspark_campaign")
        return self


class SendsparkSettings(_Strict):
    """How the videos of milestones with platform sendspark are rendered ahead (the nightly
    DAG's request_renders; connection aftercare_sendspark)."""

    #: renders are requested for the video touchpoints due within this many days
    render_ahead_days: int = Field(3, ge=1, le=30)
    #: Sendspark's limits: every endpoint, and the bulk endpoint
    requests_per_minute: int = Field(30, ge=1)
    bulk_per_minute: int = Field(1, ge=1)
    #: prospects per bulk request (Sendspark takes 1 to 10,000)
    bulk_size: int = Field(1000, ge=1, le=10_000)


class DispatchSettings(_Strict):
    """How the dispatch stage sends the ledger's due touchpoints (aftercare.dispatch)."""

    #: where batch and journal files live: a folder (relative to the project) or a file:// URL.
    #: Journals are appended to and flushed line by line, which object stores (S3, GCS) do
    #: not do: workers on many hosts share a network file system here instead.
    staging_root: str = Field(min_length=1, pattern=r"^(file://|[^:]*$)")
    #: touchpoints per batch file, i.e. per mapped send task ...
    batch_size: int = Field(ge=1)
    #: ... grown when a run would otherwise map more send tasks than this
    max_batches: int = Field(ge=4)
    #: the email transport: SendGrid's API, or an SMTP relay (Airflow connection aftercare_smtp)
    email_transport: Literal["sendgrid", "smtp"]
    timeout_seconds: float = Field(gt=0)
    #: tries per provider call within a task (429, 5xx, connection errors), with backoff
    max_attempts: int = Field(ge=1)
    #: how long a try of a batch waits for an earlier try that still holds it (told to stop,
    #: it finishes the calls it has in flight) before it fails, to be retried by Airflow
    claim_wait_seconds: float = Field(gt=0)
    providers: dict[Provider, ProviderLimit]
    #: the video of each milestone that goes out on the video channel
    videos: dict[str, VideoSettings]
    sendspark: SendsparkSettings = SendsparkSettings()

    @model_validator(mode="after")
    def _every_provider(self) -> DispatchSettings:
        if missing := set(Provider.__args__) - set(self.providers):
            raise ValueError(f"providers lacks {sorted(missing)}")
        return self


class Keywords(_Strict):
    """How inbound text replies are read: a reply is the first list it matches (whole reply,
    case and punctuation aside, for stop, start and the answers; any word for the
    sentiments)."""

    stop: list[str] = Field(min_length=1)
    start: list[str] = Field(min_length=1)
    #: answers to an availability check (YAML reads a bare yes/no key as a boolean)
    answer_yes: list[str] = Field(min_length=1)
    answer_no: list[str] = Field(min_length=1)
    negative: list[str] = Field(min_length=1)
    positive: list[str] = Field(min_length=1)


class AtsNotes(_Strict):
    """A note on the candidate's record in the ATS for each touchpoint sent (but by phone: that
    is a call task there already), so the recruiter sees what went out."""

    enabled: bool = False
    #: the Note's action (a value of the agency's Note action list)
    action: str = Field("Aftercare", min_length=1)
    #: only touchpoints sent within this many days (turned on, it does not write up the past)
    reach_back_days: int = Field(7, ge=1)


class EngagementSettings(_Strict):
    """What the engagement stage loads back and how it reads it (aftercare.engagement)."""

    keywords: Keywords
    #: a referral counts for the latest touchpoint sent to the referrer within this many days
    #: (a referral ask first)
    referral_window_days: int = Field(ge=1)
    #: the first load reaches back this far
    first_load_days: int = Field(ge=1)
    #: the analysts' static HTML report, rebuilt each run (relative to the project folder)
    report_path: Path
    ats_notes: AtsNotes = AtsNotes()


class Retention(_Strict):
    """How many days each kind of record that can hold personal data is kept, past what the
    plan and the marts need (aftercare.privacy.retention; docs/privacy.md)."""

    #: raw.* records and staging.*_changes rows of loads staged this long ago
    raw_loads_days: int = Field(ge=1)
    #: the record a quarantine row keeps of the version that failed (the row itself stays)
    quarantine_payloads_days: int = Field(ge=1)
    #: quality.validation_runs rows, GX validation results and their Data Docs pages
    gx_results_days: int = Field(ge=1)
    #: the provider details of delivery events (the responses the marts read are kept)
    engagement_payloads_days: int = Field(ge=1)
    #: batch and journal files left under dispatch.staging_root (folded ones are deleted)
    dispatch_files_days: int = Field(ge=1)
    #: erasure audit rows (who asked, what was done); never the erased hashes themselves
    audit_days: int = Field(ge=1)
    #: the personalised video pages the preferences service holds (names: the candidate's
    #: first name, job title, company), from their registration; an older link says the
    #: video is no longer available
    video_pages_days: int = Field(365, ge=1)


# -- the preferences service (issue 21: one-click unsubscribe, preferences, referral clicks) ----
class PreferencesSettings(_Strict):
    """The candidates' preferences service (aftercare.preferences, docs/preferences.md) and
    what the pipeline does with its events. Its secrets come from the environment."""

    #: the service's own event store (SQLite), relative to the project folder
    store_path: Path = Path("data/preferences/events.sqlite")
    #: where a referral click is sent on (303), plus ``?ref=<opaque reference>``
    referral_form_url: HttpUrl = "https://demo-recruitment.example/refer-a-friend"
    #: a referral link works this long after it was sent (unsubscribe links never expire)
    referral_max_age_days: int = Field(90, ge=1)
    #: requests one client (address) may make in a minute; more are answered 429
    requests_per_minute: int = Field(60, ge=1)
    #: events per feed page the engagement load asks for
    feed_page_size: int = Field(500, ge=1, le=5000)
    #: write each opt-out from every email (email, all) back to the ATS (Bullhorn
    #: ``Candidate.massMailOptOut``), so the agency's own mailings respect it
    ats_write_back: bool = False


class OpsSettings(_Strict):
    """What the ops console shows (aftercare.ops.read): the thresholds agencies are held to and
    how many rows a page lists."""

    #: the share of sends that may hard-bounce (mailbox providers: 2%) ...
    hard_bounce_rate: float = Field(0.02, ge=0, le=1)
    #: ... and be reported as spam (Gmail and Yahoo: 0.1%) before the Failures page flags it
    spam_complaint_rate: float = Field(0.001, ge=0, le=1)
    #: the most rows a list shows (the rows behind a count, quarantine rows)
    row_limit: int = Field(200, ge=1, le=10_000)
    #: sample touchpoint ids and batches shown per failure group
    sample_ids: int = Field(5, ge=1, le=100)
    #: the Failures page groups failures of the last this many days
    failure_days: int = Field(30, ge=1)


class Config(_Strict):
    agency: Agency
    airflow: AirflowSettings
    ats: AtsSettings
    quality: QualitySettings
    planning: PlanningSettings
    messages: MessageSettings
    dispatch: DispatchSettings
    engagement: EngagementSettings
    retention: Retention
    preferences: PreferencesSettings = PreferencesSettings()
    ops: OpsSettings = OpsSettings()

    @model_validator(mode="after")
    def _videos_for_video_milestones(self) -> Config:
        for name, milestone in self.planning.milestones.items():
            if "video" in milestone.channels and name not in self.dispatch.videos:
                raise ValueError(f"milestone {name} sends video: dispatch.videos needs its video")
        return self

    @model_validator(mode="after")
    def _active_statuses_are_known(self) -> Config:
        unknown = set(self.ats.active_statuses) - set(self.quality.placement_statuses)
        if unknown:
            raise ValueError(
                f"ats.active_statuses {sorted(unknown)} are not in quality.placement_statuses"
            )
        return self


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: Path | str | None = None) -> Config:
    """Load and validate the configuration (cached per file)."""
    return _load(Path(path) if path else config_path())


@lru_cache(maxsize=8)
def _load(path: Path) -> Config:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read aftercare config {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"aftercare config {path} is not valid YAML: {exc}") from exc
    try:
        return Config.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"aftercare config {path} is invalid: {problems}") from exc
