"""The test suite. ROOT is the project folder."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def expected_placement(record: dict, config: object) -> dict:
    """What staging should hold for a Bullhorn placement record, worked out independently of
    the SQL that does it (the test oracle): local dates in the agency's zone, the class mapping
    with its fallback, the active set."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(config.agency.time_zone)

    def day(ms: int | None) -> str | None:
        return None if ms is None else datetime.fromtimestamp(ms / 1000, zone).date().isoformat()

    kind = record.get("employmentType")
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
    kind = record.get("employmentType")
    if kind is not None and kind not in config.ats.employment_classes:
        faults.add("employment_type")
    return faults


def candidate_faults(record: dict, first_start: str | None, config: object, as_of: str) -> set[str]:
    """The columns a candidate ``record`` must be quarantined for (the test oracle):
    ``first_start`` is its first placement's local start date (ISO), if any; ``as_of`` the
    run's date."""
    import re
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    import phonenumbers

    faults = set()
    email = (record.get("email") or "").strip()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+", email):
        faults.add("email")
    mobile = (record.get("mobile") or "").strip()
    if mobile:
        country = (record.get("address") or {}).get("countryID")
        region = config.ats.country_ids.get(country) or config.agency.default_region
        try:
            valid = phonenumbers.is_valid_number(phonenumbers.parse(mobile, region))
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            faults.add("mobile_e164")
    if record.get("dateOfBirth") is not None:
        zone = ZoneInfo(config.agency.time_zone)
        born = datetime.fromtimestamp(record["dateOfBirth"] / 1000, zone).date()
        on = date.fromisoformat(first_start or as_of)
        age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        if not config.quality.min_age_at_start <= age <= config.quality.max_age_at_start:
            faults.add("age_at_start")
    return faults


def point_connections_at(sandbox: object, monkeypatch: object) -> None:
    """Every connection of a local run but the warehouse's pointed at a running sandbox (a
    `SandboxServer`), as the demo's are (set in the environment for the test's duration)."""
    import json

    from aftercare.bootstrap import local_connections

    connections = local_connections(sandbox.url, smtp_port=sandbox.smtp_port)
    for conn_id, connection in connections.items():
        if conn_id != "aftercare_warehouse":
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
