"""Settings of the sandbox ATS (see docs/sandbox-ats.md, "Mounting and settings")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from sandbox.ats.generator import (
    EMPLOYMENT_TYPES,
    PLACEMENT_STATUSES,
    UNKNOWN_EMPLOYMENT_TYPES,
    UNKNOWN_STATUSES,
)
from sandbox.ats.scenario import FIRST_DAY


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AtsFaults(_Strict):
    """Shares of REST calls that fail on purpose; at most one fault per call."""

    share_429: float = Field(0.0, ge=0, le=1)
    share_500: float = Field(0.0, ge=0, le=1)
    share_slow: float = Field(0.0, ge=0, le=1)
    slow_seconds: float = Field(2.0, ge=0, le=120)
    share_truncated: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _shares_fit(self) -> AtsFaults:
        if self.share_429 + self.share_500 + self.share_slow + self.share_truncated > 1:
            raise ValueError("the fault shares add up to more than 1")
        return self


class DateMidnights(_Strict):
    """Shares of the records whose date-only fields (a Placement's dateBegin and dateEnd, a
    Candidate's dateOfBirth) are served at US Eastern midnight, at the agency's midnight (Europe/
    London), or at 09:30 London time; the rest at UTC midnight, as stored."""

    us_eastern: float = Field(0.3, ge=0, le=1)
    london: float = Field(0.4, ge=0, le=1)
    time_of_day: float = Field(0.05, ge=0, le=1)

    @model_validator(mode="after")
    def _shares_fit(self) -> DateMidnights:
        if self.us_eastern + self.london + self.time_of_day > 1:
            raise ValueError("the date midnight shares add up to more than 1")
        return self


#: A picklist's labels: the world's own value -> the corporation's labels for it.
Labels = dict[str, list[str]]


def _labels(internal: tuple[str, ...], faults: tuple[str, ...]) -> Callable[[Labels], Labels]:
    """A check of a picklist's labels: keyed by the world's own values, none of them one of the
    generator's deliberate faults (those must stay outside the corporation's picklist)."""

    def check(labels: Labels) -> Labels:
        if unknown := set(labels) - set(internal):
            raise ValueError(f"labels for values the world does not use: {sorted(unknown)}")
        if empty := [value for value, names in labels.items() if not names]:
            raise ValueError(f"no label for {empty}")
        if faulty := {name for names in labels.values() for name in names} & set(faults):
            raise ValueError(f"labels that are the generator's faults: {sorted(faulty)}")
        return labels

    return check


class Corporation(_Strict):
    """How a real corporation's data look in Bullhorn (docs/sandbox-ats.md, "A real
    corporation's shapes"): every shape on by default; shares of 0, False and each value its own
    one label turn them off. A setting changes its shape only: the rest of the world stays the
    same, record for record."""

    default_country_share: float = Field(0.3, ge=0, le=1)
    zero_offset_share: float = Field(0.5, ge=0, le=1)
    agency_phone_share: float = Field(0.2, ge=0, le=1)
    non_candidate_referral_share: float = Field(0.25, ge=0, le=1)
    multi_value_employment_type: bool = True
    status_labels: Annotated[
        Labels, AfterValidator(_labels(PLACEMENT_STATUSES, tuple(UNKNOWN_STATUSES)))
    ] = {
        "Submitted": ["Submitted"],
        "Approved": ["Approved", "Accounts Approved"],
        "Placed": ["Placed", "Hired"],
        "Completed": ["Completed - Satisfactory", "Finished"],
        "Terminated": ["Terminated"],
    }
    employment_type_labels: Annotated[
        Labels,
        AfterValidator(_labels(tuple(EMPLOYMENT_TYPES), tuple(UNKNOWN_EMPLOYMENT_TYPES))),
    ] = {
        "Permanent": ["Permanent", "Perm"],
        "Direct Hire": ["50 - Direct Hire"],
        "Temp": ["Temporary"],
        "Contract": ["Contract", "Fixed Term Contract", "Freelance"],
        "Contract To Hire": ["Contract To Hire"],
    }
    search_only_candidates: bool = True
    date_midnights: DateMidnights = DateMidnights()
    messy_name_share: float = Field(0.05, ge=0, le=1)
    broken_owner_emails: int = Field(2, ge=0, le=25)


class AtsSandboxSettings(_Strict):
    """The sandbox ATS: its world, its credentials, its limits and its faults."""

    placements: int = Field(10_000, ge=0, le=5_000_000)
    clock_start: date = date(2026, 11, 23)
    api_user: str = "aftercare.api"
    api_password: str = "sandbox-password"  # noqa: S105 - the sandbox's published password
    client_id: str = "aftercare-sandbox"
    client_secret: str = "sandbox-secret"  # noqa: S105 - the sandbox's published secret
    corp_token: str = Field("sbx1", pattern=r"^[A-Za-z0-9]+$")
    access_token_ttl_seconds: float = Field(600, gt=0)
    rest_token_ttl_seconds: float = Field(600, gt=0)
    rate_limit_per_minute: int = Field(1500, ge=1)
    faults: AtsFaults = AtsFaults()
    dirty_share: float = Field(0.03, ge=0, le=1)
    corporation: Corporation = Corporation()
    #: ``edges`` plants, among the usual world, cases of every planning rule and reason over
    #: fifteen nights from its own first day (docs/sandbox-ats.md, "Scenarios").
    scenario: Literal["usual", "edges"] = "usual"

    @model_validator(mode="after")
    def _scenario_starts_its_clock(self) -> AtsSandboxSettings:
        if self.scenario == "edges" and self.clock_start != FIRST_DAY:
            raise ValueError(f"the edges scenario starts on {FIRST_DAY}: set clock_start to it")
        return self
