"""Bullhorn Candidate records -> staging rows (placements are normalised in SQL:
sql/extract/store_placement_changes.sql), reading the evidence as a careful human would.

* country: the address's ``countryID`` through the corporation's own country table (read from
  the ATS, `country_codes`), unless it is Bullhorn's default (1, the United States), which
  many records keep whatever their real country; then the country of the mobile (or phone),
  else the agency's region;
* mobile and phone -> E.164 with rphonenumbers (phonenumbers' API on a Rust port of
  libphonenumber), trying in turn: the number as written against the address country,
  Bullhorn's default included (a "+" prefix speaks for itself; a number valid in the US has ten
  digits and no trunk zero, so it is no other country's national form), the country code
  written without "+" (``44 077-14980001``), the agency's region; an
  unusable number keeps its raw value beside a null E.164, a field finding for the gate;
* time zone -> an IANA name within the country: the zone matching ``timeZoneOffsetEST`` (hours
  from US Eastern standard time) when it is not 0, else the mobile's zone (area codes), else
  the zone matching an offset of 0, else the country's main zone; no country: the agency's;
* instants and date-only fields (``dateOfBirth``) stay epoch ms, as Bullhorn sends them: the
  insert (sql/extract/store_candidate_changes.sql) makes them timestamps and dates as it does
  for placements;
* names: stray spaces collapsed, mojibake (UTF-8 read as Latin-1) repaired (ftfy);
* ``referredByPerson`` is a Person: only a Candidate (``_subtype``) is a candidate referral.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import ftfy
import rphonenumbers as phonenumbers
from rphonenumbers import PhoneNumber, timezone

from aftercare.config import Config

_EASTERN_STANDARD_HOURS = -5
#: The country id a Bullhorn address has unless someone chose one: the United States.
DEFAULT_COUNTRY_ID = 1
#: Bullhorn country codes that are not ISO 3166 alpha-2: its "UK" is ISO's "GB".
_ISO_ALIASES = {"UK": "GB"}


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
    text = " ".join(str(value).split())
    return text or None


def iso_region(code: str | None) -> str | None:
    """The ISO 3166 alpha-2 region of a Bullhorn country code (None: no such region)."""
    text = (code or "").strip().upper()
    region = _ISO_ALIASES.get(text, text)
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


def country_codes(codes: dict[int, str]) -> dict[int, str]:
    """Bullhorn country id -> ISO region, from the corporation's country table (id -> its
    code); ids whose code names no region are left out."""
    return {
        country_id: region
        for country_id, code in codes.items()
        if (region := iso_region(code)) is not None
    }


def _name(value: Any) -> str | None:
    """A name as people should read it: mojibake repaired, spaces collapsed."""
    text = _text(value)
    if text is None or text.isascii():
        return text
    return _repaired(text)


@lru_cache(maxsize=16_384)
def _repaired(text: str) -> str | None:
    """`_name` of a name with letters beyond ASCII, through ftfy (slow), cached: names repeat."""
    return " ".join(ftfy.fix_text(text).split()) or None


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


def time_zone_for(
    country: str | None, offset_est: Any, default: str, number: PhoneNumber | None = None
) -> str:
    """The IANA zone of a candidate in ``country`` (see the module's rule); ``default`` when
    the country is unknown."""
    zones = _country_zones().get(country or "", ())
    if not zones:
        return default
    offset = offset_est if isinstance(offset_est, int | float) else None
    if offset is not None and offset != 0:
        if zone := _zone_at(zones, offset):
            return zone
    if len(zones) > 1 and number is not None:  # only a country of many zones needs the number
        for zone in timezone.time_zones_for_number(number):
            if zone in zones:
                return zone
    if offset == 0 and (zone := _zone_at(zones, 0)):
        return zone
    return zones[0]


def _zone_at(zones: tuple[str, ...], offset_est: float) -> str | None:
    target = _EASTERN_STANDARD_HOURS + offset_est
    return next((zone for zone in zones if _standard_offset_hours(zone) == target), None)


class Phone(NamedTuple):
    """A valid number and the region it is valid in."""

    number: PhoneNumber
    region: str


def parse_phone(raw: str | None, regions: tuple[str, ...]) -> Phone | None:
    """A valid number read from ``raw`` the way a careful human would: as written against the
    first region (a "+" prefix speaks for itself), then with the country code written without
    "+", then against the other regions in turn; None when no reading is valid. A reading is
    valid in the region it was read against, else in the region of the number's country code
    whose numbering plan it fits."""
    text = _text(raw)
    if text is None:
        return None
    for written, region in readings(text, regions):
        try:
            number = phonenumbers.parse(written, region)
        except phonenumbers.NumberParseException:
            continue
        for found in (region, phonenumbers.region_code_for_number(number)):
            if found and phonenumbers.is_valid_number_for_region(number, found):
                return Phone(number, found)
    return None


def readings(text: str, regions: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """The ways to read ``text``, in turn: (what is parsed, the region it is read against)."""
    tried: list[tuple[str, str | None]] = [(text, region) for region in regions]
    if text[0] in "123456789":  # "44 077-14980001": a country code, its "+" left out
        tried.insert(1, ("+" + text, None))
    return tried


def _e164(phone: Phone | None) -> str | None:
    if phone is None:
        return None
    return phonenumbers.format_number(phone.number, phonenumbers.PhoneNumberFormat.E164)


class Normaliser:
    """Turns Bullhorn Candidate records into staging rows (JSON-ready dicts, keyed by column;
    instants and the date of birth still epoch ms, which the insert converts); ``countries`` is
    the corporation's country table as ISO regions (`country_codes`)."""

    def __init__(self, config: Config, countries: dict[int, str]) -> None:
        self._zone_name = config.agency.time_zone
        self._region = config.agency.default_region
        self._countries = countries

    def candidate(self, record: dict[str, Any]) -> dict[str, Any]:
        country_id = _nested(record, "address", "countryID")
        address = self._countries.get(country_id)
        chosen = None if country_id == DEFAULT_COUNTRY_ID else address
        # numbers are read against the address country first, the default one included: a
        # number valid there (ten digits for the US, no trunk zero) is not another country's
        # national form, and the number's country then tells where the candidate is
        regions = tuple(dict.fromkeys(r for r in (address, self._region) if r))
        mobile_raw, phone_raw = _text(record.get("mobile")), _text(record.get("phone"))
        mobile, phone = parse_phone(mobile_raw, regions), parse_phone(phone_raw, regions)
        number = mobile or phone
        country = chosen or (number.region if number else self._region)
        referrer = record.get("referredByPerson") or {}
        return {
            "candidate_id": record["id"],
            "first_name": _name(record.get("firstName")),
            "last_name": _name(record.get("lastName")),
            "email": _text(record.get("email")),
            "mobile_raw": mobile_raw,
            "mobile_e164": _e164(mobile),
            "phone_raw": phone_raw,
            "phone_e164": _e164(phone),
            "date_of_birth": record.get("dateOfBirth"),
            "country_code": country,
            "time_zone": time_zone_for(
                country,
                record.get("timeZoneOffsetEST"),
                self._zone_name,
                number.number if number else None,
            ),
            "email_opt_out": bool(record.get("massMailOptOut")),
            "sms_opt_in": bool(record.get("smsOptIn")),
            "is_anonymized": bool(record.get("isAnonymized")),
            "is_deleted": bool(record.get("isDeleted")),
            "referred_by_candidate_id": (
                referrer.get("id") if referrer.get("_subtype") == "Candidate" else None
            ),
            "date_added": record.get("dateAdded"),
            "date_last_modified": record["dateLastModified"],
        }
