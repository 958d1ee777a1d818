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
    return {
        "placement_id": record["id"],
        "candidate_id": (record.get("candidate") or {}).get("id"),
        "status": record.get("status"),
        "employment_class": config.ats.employment_classes.get(kind)
        or ("permanent" if record.get("dateEnd") is None else "temp"),
        "is_active": record.get("status") in config.ats.active_statuses,
        "start_date": day(record.get("dateBegin")),
        "end_date": day(record.get("dateEnd")),
    }
