"""Bullhorn records -> staging rows, checked against values worked out by hand: placements
through the SQL on DuckDB and Postgres, candidates through the Python normaliser."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from aftercare import warehouse
from aftercare.ats.base import Page
from aftercare.ats.normalise import Normaliser, time_zone_for
from aftercare.config import load_config


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def normaliser() -> Normaliser:
    return Normaliser(load_config())


PLACEMENT = {
    "id": 7,
    "status": "Placed",
    "employmentType": "Temp",
    # Bullhorn stores a date as local midnight: 1 July 2026 00:00 in London is 30 June 23:00 UTC
    "dateBegin": ms(2026, 6, 30, 23),
    "dateEnd": ms(2026, 9, 30, 23),
    "dateAdded": ms(2026, 6, 1, 9),
    "dateLastModified": ms(2026, 6, 2, 10, 30),
    "candidate": {"id": 70},
    "jobOrder": {
        "id": 3,
        "title": "Forklift Driver",
        "clientCorporation": {"id": 4, "name": "Acme"},
    },
    "owner": {"id": 9, "firstName": "Ruth", "lastName": "Ng", "email": "ruth@agency.example"},
}


def placement_rows(engine: sa.Engine, *records: dict) -> list[dict]:
    """Run the placement normalisation SQL on a page of records, return the rows it wrote."""
    from aftercare import extract

    warehouse.migrate(engine)
    body = json.dumps({"start": 0, "data": list(records)})
    page = Page("Placement", 1, list(records), body)
    bodies = {"bodies": f"[{body}]", "first_page": 1, "page_size": 500}
    with warehouse.transaction(engine) as conn:
        extract._changes_writer("Placement", load_config())(conn, "load-1", bodies, [page])
        rows = conn.execute(
            sa.text(
                "select placement_id, candidate_id, owner_id, owner_first_name, owner_email,"
                " job_title, client_name, status, employment_type, employment_class, is_active,"
                " cast(start_date as varchar) as start_date, cast(end_date as varchar) as end_date,"
                " date_added, date_last_modified from staging.placement_changes"
                " order by placement_id"
            )
        ).mappings()
        return [dict(row) for row in rows]


def test_placement(warehouse_engine: sa.Engine) -> None:
    [row] = placement_rows(warehouse_engine, PLACEMENT)

    assert row == {
        "placement_id": 7,
        "candidate_id": 70,
        "owner_id": 9,
        "owner_first_name": "Ruth",
        "owner_email": "ruth@agency.example",
        "job_title": "Forklift Driver",
        "client_name": "Acme",
        "status": "Placed",
        "employment_type": "Temp",
        "employment_class": "temp",
        "is_active": True,
        "start_date": "2026-07-01",
        "end_date": "2026-10-01",
        "date_added": datetime(2026, 6, 1, 9, tzinfo=UTC),
        "date_last_modified": datetime(2026, 6, 2, 10, 30, tzinfo=UTC),
    }


def test_employment_class_fallback_and_inactive_status(warehouse_engine: sa.Engine) -> None:
    rows = placement_rows(
        warehouse_engine,
        {**PLACEMENT, "id": 1, "employmentType": "Seasonal", "status": "Terminated"},
        {**PLACEMENT, "id": 2, "employmentType": "Seasonal", "dateEnd": None},
        {**PLACEMENT, "id": 3, "employmentType": "Contract To Hire", "candidate": None},
        {**PLACEMENT, "id": 4, "owner": None, "jobOrder": None, "status": None},
    )

    assert [(r["employment_class"], r["is_active"]) for r in rows] == [
        ("temp", False),
        ("permanent", True),
        ("contract", True),
        ("temp", False),
    ]
    assert rows[2]["candidate_id"] is None
    assert (rows[3]["owner_id"], rows[3]["job_title"], rows[3]["client_name"]) == (None, None, None)


CANDIDATE = {
    "id": 70,
    "firstName": " Ada ",
    "lastName": "Byron",
    "email": "ada@example.com",
    "mobile": "07911 123456",
    "phone": "call me",
    "dateOfBirth": ms(1990, 1, 15),
    "address": {"countryID": 2359},
    "timeZoneOffsetEST": 5,
    "massMailOptOut": True,
    "smsOptIn": False,
    "isDeleted": False,
    "isAnonymized": False,
    "referredByPerson": {"id": 12},
    "dateAdded": ms(2020, 1, 1),
    "dateLastModified": ms(2026, 6, 2),
}


def test_candidate(normaliser: Normaliser) -> None:
    row = normaliser.candidate(CANDIDATE)

    assert row["first_name"] == "Ada"
    assert (row["mobile_raw"], row["mobile_e164"]) == ("07911 123456", "+447911123456")
    assert (row["phone_raw"], row["phone_e164"]) == ("call me", None)
    assert row["date_of_birth"] == "1990-01-15"
    assert (row["country_code"], row["time_zone"]) == ("GB", "Europe/London")
    assert (row["email_opt_out"], row["sms_opt_in"]) == (True, False)
    assert row["referred_by_candidate_id"] == 12


def test_us_candidate_numbers_and_zone(normaliser: Normaliser) -> None:
    us = {
        **CANDIDATE,
        "address": {"countryID": 1},
        "timeZoneOffsetEST": -3,
        "mobile": "(415) 555-2671",
        "phone": "+44 20 7946 0958",
    }

    row = normaliser.candidate(us)

    assert row["mobile_e164"] == "+14155552671"  # national format read in the candidate's region
    assert row["phone_e164"] == "+442079460958"  # an explicit country code wins
    assert (row["country_code"], row["time_zone"]) == ("US", "America/Los_Angeles")


def test_unknown_country_falls_back_to_the_agency(normaliser: Normaliser) -> None:
    row = normaliser.candidate({**CANDIDATE, "address": None, "timeZoneOffsetEST": None})

    assert (row["country_code"], row["time_zone"]) == (None, "Europe/London")
    assert row["mobile_e164"] == "+447911123456"  # the agency's default region


@pytest.mark.parametrize(
    ("country", "offset", "zone"),
    [
        ("US", 0, "America/New_York"),
        ("US", -1, "America/Chicago"),
        ("US", -2, "America/Denver"),
        ("US", None, "America/New_York"),
        ("US", 7, "America/New_York"),  # no US zone at UTC+2: the country's main zone
        ("DE", 6, "Europe/Berlin"),
        ("IE", 5, "Europe/Dublin"),
        ("ZZ", 0, "Europe/London"),
    ],
)
def test_time_zone_for(country: str, offset: int | None, zone: str) -> None:
    assert time_zone_for(country, offset, "Europe/London") == zone
