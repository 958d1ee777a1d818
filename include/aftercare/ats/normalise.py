"""Bullhorn records -> staging rows.

* epoch milliseconds -> UTC timestamps (ISO 8601) for instants; local dates in the agency's time
  zone for date-only fields (Bullhorn stores a date as midnight where it was entered);
* mobile and phone -> E.164 with `phonenumbers` (region: the address country, else the agency's
  default); an unparseable number keeps its raw value beside a null E.164 for validation;
* time zone -> an IANA name from the address country and ``timeZoneOffsetEST`` (hours from US
  Eastern standard time), else the agency's zone;
* employmentType -> ``employment_class`` through the config mapping (unlisted: no end date
  means permanent, else temp); status -> ``is_active`` through the configured active set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

from aftercare.config import Config

_EASTERN_STANDARD_HOURS = -5


def _instant(ms: Any) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _nested(record: dict[str, Any], *path: str) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """ISO country -> its IANA zones, in tzdata's zone.tab order (main zone first)."""
    table: dict[str, list[str]] = {}
    lines = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text().splitlines()
    for line in lines:
        if line and not line.startswith("#"):
            country, _coordinates, zone = line.split("\t")[:3]
            table.setdefault(country, []).append(zone)
    return {country: tuple(zones) for country, zones in table.items()}


@cache
def _standard_offset_hours(zone: str) -> float:
    """The zone's UTC offset outside daylight saving time, in hours."""
    tz = ZoneInfo(zone)
    offsets = [datetime(2026, month, 15, 12, tzinfo=tz).utcoffset() for month in (1, 7)]
    return min(offsets).total_seconds() / 3600


def time_zone_for(country: str | None, offset_est: Any, default: str) -> str:
    """The IANA zone of a candidate: among the country's zones, the first whose standard
    offset matches ``timeZoneOffsetEST``; else the country's main zone; else ``default``."""
    zones = _country_zones().get(country or "", ())
    if not zones:
        return default
    if isinstance(offset_est, int | float):
        target = _EASTERN_STANDARD_HOURS + offset_est
        for zone in zones:
            if _standard_offset_hours(zone) == target:
                return zone
    return zones[0]


class Normaliser:
    """Turns Bullhorn Placement and Candidate records into staging rows (JSON-ready dicts)."""

    def __init__(self, config: Config) -> None:
        self._zone = ZoneInfo(config.agency.time_zone)
        self._zone_name = config.agency.time_zone
        self._region = config.agency.default_region
        self._ats = config.ats
        self._active = set(config.ats.active_statuses)

    def _date(self, ms: Any) -> str | None:
        if ms is None:
            return None
        return datetime.fromtimestamp(ms / 1000, self._zone).date().isoformat()

    @staticmethod
    def _e164(raw: str | None, region: str) -> str | None:
        if raw is None:
            return None
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def placement(self, record: dict[str, Any]) -> dict[str, Any]:
        employment_type = _text(record.get("employmentType"))
        end_ms = record.get("dateEnd")
        employment_class = self._ats.employment_classes.get(employment_type or "") or (
            "permanent" if end_ms is None else "temp"
        )
        status = _text(record.get("status"))
        return {
            "placement_id": record["id"],
            "candidate_id": _nested(record, "candidate", "id"),
            "owner_id": _nested(record, "owner", "id"),
            "owner_first_name": _text(_nested(record, "owner", "firstName")),
            "owner_last_name": _text(_nested(record, "owner", "lastName")),
            "owner_email": _text(_nested(record, "owner", "email")),
            "job_title": _text(_nested(record, "jobOrder", "title")),
            "client_name": _text(_nested(record, "jobOrder", "clientCorporation", "name")),
            "status": status,
            "employment_type": employment_type,
            "employment_class": employment_class,
            "is_active": status in self._active,
            "start_date": self._date(record.get("dateBegin")),
            "end_date": self._date(end_ms),
            "date_added": _instant(record.get("dateAdded")),
            "date_last_modified": _instant(record["dateLastModified"]),
        }

    def candidate(self, record: dict[str, Any]) -> dict[str, Any]:
        country = self._ats.country_ids.get(_nested(record, "address", "countryID"))
        region = country or self._region
        mobile, phone = _text(record.get("mobile")), _text(record.get("phone"))
        return {
            "candidate_id": record["id"],
            "first_name": _text(record.get("firstName")),
            "last_name": _text(record.get("lastName")),
            "email": _text(record.get("email")),
            "mobile_raw": mobile,
            "mobile_e164": self._e164(mobile, region),
            "phone_raw": phone,
            "phone_e164": self._e164(phone, region),
            "date_of_birth": self._date(record.get("dateOfBirth")),
            "country_code": country,
            "time_zone": time_zone_for(country, record.get("timeZoneOffsetEST"), self._zone_name),
            "email_opt_out": bool(record.get("massMailOptOut")),
            "sms_opt_in": bool(record.get("smsOptIn")),
            "is_anonymized": bool(record.get("isAnonymized")),
            "is_deleted": bool(record.get("isDeleted")),
            "referred_by_candidate_id": _nested(record, "referredByPerson", "id"),
            "date_added": _instant(record.get("dateAdded")),
            "date_last_modified": _instant(record["dateLastModified"]),
        }
