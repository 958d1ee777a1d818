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


def keeps_contract(row: dict) -> bool:
    """Whether an expected placement row may enter staging (else: quarantine)."""
    return (
        row["candidate_id"] is not None
        and row["status"] is not None
        and row["start_date"] is not None
        and (row["end_date"] is None or row["end_date"] >= row["start_date"])
    )
