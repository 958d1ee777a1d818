"""The one YAML configuration file, validated by pydantic.

`load_config()` reads the file named by the environment variable ``AFTERCARE_CONFIG`` (default:
``config/aftercare.yaml``). Unknown keys and bad values raise `ConfigError`, whose message names
the file and the field, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

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


TimeZoneName = Annotated[str, AfterValidator(_iana_zone)]
RegionCode = Annotated[str, AfterValidator(_region)]
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
    country_ids: dict[int, RegionCode]
    full_sweep_weekday: Weekday


class Pool(_Strict):
    slots: int = Field(ge=1)
    description: str = ""


class AirflowSettings(_Strict):
    owner: str = Field(min_length=1)
    retries: int = Field(ge=0)
    retry_delay_seconds: float = Field(gt=0)
    max_retry_delay_seconds: float = Field(gt=0)
    pools: dict[str, Pool]


class Config(_Strict):
    agency: Agency
    airflow: AirflowSettings
    ats: AtsSettings


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
