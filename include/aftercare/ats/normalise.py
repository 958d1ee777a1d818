"""Bullhorn Candidate records -> staging rows (placements are normalised in SQL:
sql/extract/store_placement_changes.sql).

* epoch milliseconds -> UTC timestamps (ISO 8601) for instants; local dates in the agency's time
  zone for date-only fields (Bullhorn stores a date as midnight where it was entered);
* mobile and phone -> E.164 with `phonenumbers` (region: the address country, else the agency's
  default); an unparseable number keeps its raw value beside a null E.164 for validation;
* time zone -> an IANA name from the address country and ``timeZoneOffsetEST`` (hours from US
  Eastern standard time), else the agency's zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache, lru_cache
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


@lru_cache(maxsize=65_536)
def _local_date(ms: int, zone: str) -> str:
    """The local date of an instant (dates repeat a lot: start dates, birthdays)."""
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(zone)).date().isoformat()


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
    """Turns Bullhorn Candidate records into staging rows (JSON-ready dicts)."""

    def __init__(self, config: Config) -> None:
        self._zone_name = config.agency.time_zone
        self._region = config.agency.default_region
        self._ats = config.ats

    def _date(self, ms: Any) -> str | None:
        if ms is None:
            return None
        return _local_date(ms, self._zone_name)

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
