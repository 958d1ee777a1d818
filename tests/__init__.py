"""The test suite. ROOT is the project folder."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


#: The sandbox world's countries by Bullhorn's own ids, as ISO regions (its Country table says
#: "UK" for 2359), written out for the oracles independently of the normaliser.
SANDBOX_REGIONS = {2359: "GB", 1: "US", 2266: "IE", 2249: "DE", 2245: "FR", 2306: "NL"}
#: The address country an ATS record keeps when nobody chose one (Bullhorn's default).
DEFAULT_COUNTRY_ID = 1


def _first(value: object) -> object:
    """A picklist value, single or multi-value (a list: its first value)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def expected_placement(record: dict, config: object) -> dict:
    """What staging should hold for a Bullhorn placement record (as served), worked out
    independently of the SQL that does it (the test oracle): local dates in the agency's zone
    (the sandbox serves a date at US-Eastern, London or UTC midnight, or 09:30 London: the same
    London date), the class mapping with its fallback, the active set."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(config.agency.time_zone)

    def day(ms: int | None) -> str | None:
        return None if ms is None else datetime.fromtimestamp(ms / 1000, zone).date().isoformat()

    kind = _first(record.get("employmentType"))
    status = (record.get("status") or "").strip() or None
    return {
        "placement_id": record["id"],
        "candidate_id": (record.get("candidate") or {}).get("id"),
        "status": status,
        "employment_class": config.ats.employment_classes.get(kind)
        or ("permanent" if record.get("dateEnd") is None else "temp"),
        "is_active": status in config.ats.active_statuses,
        "start_date": day(record.get("dateBegin")),
        "end_date": day(record.get("dateEnd")),
    }


def placement_faults(row: dict, record: dict, candidate_ids: set[int], config: object) -> set[str]:
    """The columns an expected placement row (of ``record``) must be quarantined for, worked
    out independently of the GX suite (the test oracle)."""
    faults = set()
    if row["candidate_id"] is None:
        faults.add("candidate_id")
    elif row["candidate_id"] not in candidate_ids:
        faults.add("known_candidate_id")
    if row["start_date"] is None or not "1950" <= row["start_date"] <= "2100-12-31":
        faults.add("start_date")
    if row["end_date"] is not None and (
        not "1950" <= row["end_date"] <= "2100-12-31"
        or (row["start_date"] is not None and row["end_date"] < row["start_date"])
    ):
        faults.add("end_date")
    if row["status"] not in config.quality.placement_statuses:
        faults.add("status")
    kind = _first(record.get("employmentType"))
    if kind is not None and kind not in config.ats.employment_classes:
        faults.add("employment_type")
    return faults


def expected_number(served: dict, stored: dict, config: object, field: str) -> str | None:
    """A candidate's ``field`` (mobile, phone) in E.164 read against the candidate's real
    country (``stored``: the record as the sandbox world keeps it), or with the country code
    its writer left the "+" off; None when neither reading is a valid number, or when nothing
    in the record as served tells the country: an address left at the ATS's default country
    and a number in another country's national form, neither the agency's nor the default's."""
    import phonenumbers

    text = " ".join((served.get(field) or "").split())
    region = SANDBOX_REGIONS.get((stored.get("address") or {}).get("countryID"))
    defaulted = (served.get("address") or {}).get("countryID") == DEFAULT_COUNTRY_ID
    code = str(phonenumbers.country_code_for_region(region or "ZZ"))
    told = text.startswith(("+", code)) or region in (config.agency.default_region, "US")
    if defaulted and not told:
        return None
    for written, reading in ((text, region), ("+" + text, None)):
        try:
            number = phonenumbers.parse(written, reading)
        except phonenumbers.NumberParseException:
            continue
        if text and phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def expected_candidate(
    served: dict, stored: dict, first_start: str | None, config: object, as_of: str
) -> dict:
    """What staging should hold of a candidate (the test oracle), from the record as served
    and as the world keeps it (``stored``: its real country, its date of birth at UTC
    midnight): each field that fails its rule is absent (``findings`` names them); the
    country is the address's unless it is the ATS's default, then the mobile's, then the
    agency's. ``first_start`` is its first placement's local start date (ISO), if any; ``as_of``
    the run's date."""
    import re
    from datetime import UTC, date, datetime

    import phonenumbers

    findings = set()
    email = (served.get("email") or "").strip() or None
    if email and not re.fullmatch(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+", email):
        findings.add("email")
    mobile, phone = (expected_number(served, stored, config, f) for f in ("mobile", "phone"))
    for field, number in (("mobile", mobile), ("phone", phone)):
        if number is None and (served.get(field) or "").strip():
            findings.add(field)
    born = None
    if stored.get("dateOfBirth") is not None:
        born = datetime.fromtimestamp(stored["dateOfBirth"] / 1000, UTC).date()
        on = date.fromisoformat(first_start or as_of)
        age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        if not config.quality.min_age_at_start <= age <= config.quality.max_age_at_start:
            findings.add("date_of_birth")
    served_country = (served.get("address") or {}).get("countryID")
    country = SANDBOX_REGIONS.get(served_country) if served_country != DEFAULT_COUNTRY_ID else None
    if country is None and (mobile or phone):
        country = phonenumbers.region_code_for_number(phonenumbers.parse(mobile or phone))
    return {
        "email": None if "email" in findings else email,
        "mobile_e164": mobile,
        "date_of_birth": None if born is None or "date_of_birth" in findings else born.isoformat(),
        "country_code": country or config.agency.default_region,
        "findings": findings,
    }


def point_connections_at(sandbox: object, monkeypatch: object) -> None:
    """Every connection of a local run but the warehouse's and the preferences service's
    pointed at a running sandbox (a `SandboxServer`), as the demo's are (set in the environment
    for the test's duration)."""
    import json

    from sandbox.bootstrap import local_connections

    connections = local_connections(sandbox.url, smtp_port=sandbox.smtp_port)
    for conn_id, connection in connections.items():
        # the preferences service runs only where a test starts it (tests/test_preferences_load)
        if conn_id not in ("aftercare_warehouse", "aftercare_preferences"):
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
