"""Settings of the sandbox ATS (see docs/sandbox-ats.md, "Mounting and settings")."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aftercare.sandbox.ats.scenario import FIRST_DAY


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
    #: ``edges`` plants, among the usual world, cases of every planning rule and reason over
    #: fifteen nights from its own first day (docs/sandbox-ats.md, "Scenarios").
    scenario: Literal["usual", "edges"] = "usual"

    @model_validator(mode="after")
    def _scenario_starts_its_clock(self) -> AtsSandboxSettings:
        if self.scenario == "edges" and self.clock_start != FIRST_DAY:
            raise ValueError(f"the edges scenario starts on {FIRST_DAY}: set clock_start to it")
        return self
