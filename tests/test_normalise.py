"""Bullhorn records -> staging rows, checked against values worked out by hand: placements
through the SQL on DuckDB and Postgres, candidates through the Python normaliser."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import phonenumbers
import phonenumbers.timezone
import pytest
import rphonenumbers
import sqlalchemy as sa
from phonenumbers import PhoneNumberFormat

from aftercare import warehouse
from aftercare.ats import normalise
from aftercare.ats.base import Page
from aftercare.ats.normalise import (
    Normaliser,
    _e164,
    country_codes,
    parse_phone,
    readings,
    time_zone_for,
)
from aftercare.config import load_config

#: Bullhorn's own country ids and codes (its country table; "UK" is its code for GB)
BULLHORN_COUNTRIES = {
    1: "US",
    2359: "UK",
    2266: "IE",
    2249: "DE",
    2245: "FR",
    2306: "NL",
    2185: "AF",
    2378: "NONE",
}


E164, NATIONAL = PhoneNumberFormat.E164, PhoneNumberFormat.NATIONAL
INTERNATIONAL = PhoneNumberFormat.INTERNATIONAL


def ms(*args: int, zone: str = "UTC") -> int:
    return int(datetime(*args, tzinfo=ZoneInfo(zone)).timestamp() * 1000)


@pytest.fixture
def normaliser() -> Normaliser:
    return Normaliser(load_config(), country_codes(BULLHORN_COUNTRIES))


def test_the_country_table_reads_bullhorn_codes_as_iso_regions() -> None:
    regions = country_codes(BULLHORN_COUNTRIES)
    assert regions[2359] == "GB" and regions[2266] == "IE" and regions[2185] == "AF"
    assert 2378 not in regions  # "- None Specified -" is no country


PLACEMENT = {
    "id": 7,
    "status": "Placed",
    "employmentType": "Temporary",
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
        extract._changes_writer("Placement", load_config(), {}, None)(
            conn, "load-1", bodies, [page]
        )
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
        "employment_type": "Temporary",
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


def test_placement_as_real_corporations_send_it(warehouse_engine: sa.Engine) -> None:
    """A multi-value employment type comes as a list; date-only fields as US-Eastern midnight
    (Bullhorn's), agency midnight or with a time of day, before 1970 too."""
    rows = placement_rows(
        warehouse_engine,
        {**PLACEMENT, "id": 1, "employmentType": ["Fixed Term Contract"]},
        {
            **PLACEMENT,
            "id": 2,
            "employmentType": ["Perm"],
            "dateBegin": ms(2026, 7, 1, zone="America/New_York"),  # 05:00 in London
            "dateEnd": None,
        },
        {
            **PLACEMENT,
            "id": 3,
            "employmentType": [],
            "dateBegin": ms(1968, 3, 4, 14, 30, zone="Europe/London"),
            "dateEnd": ms(1969, 12, 31, zone="America/New_York"),
        },
    )

    assert [(r["employment_type"], r["employment_class"]) for r in rows] == [
        ("Fixed Term Contract", "contract"),
        ("Perm", "permanent"),
        (None, "temp"),  # no type, an end date: the fallback
    ]
    assert [(r["start_date"], r["end_date"]) for r in rows] == [
        ("2026-07-01", "2026-10-01"),
        ("2026-07-01", None),
        ("1968-03-04", "1969-12-31"),
    ]


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
    "referredByPerson": {"id": 12, "_subtype": "Candidate"},
    "dateAdded": ms(2020, 1, 1),
    "dateLastModified": ms(2026, 6, 2),
}


def test_candidate(normaliser: Normaliser) -> None:
    row = normaliser.candidate(CANDIDATE)

    assert row["first_name"] == "Ada"
    assert (row["mobile_raw"], row["mobile_e164"]) == ("07911 123456", "+447911123456")
    assert (row["phone_raw"], row["phone_e164"]) == ("call me", None)
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
    row = normaliser.candidate(
        {**CANDIDATE, "address": None, "timeZoneOffsetEST": None, "mobile": None}
    )

    assert (row["country_code"], row["time_zone"]) == ("GB", "Europe/London")


@pytest.mark.parametrize(
    ("country_id", "offset", "mobile", "e164", "country", "zone"),
    [
        # Bullhorn's default country (1) kept whatever the real one: the mobile tells
        (1, 0, "44 077-14980001", "+447714980001", "GB", "Europe/London"),
        (1, 0, "07712 345678", "+447712345678", "GB", "Europe/London"),  # the agency's region
        (1, 0, "41 795-431683", "+41795431683", "CH", "Europe/Zurich"),
        (1, 0, "(312) 555-0123", "+13125550123", "US", "America/Chicago"),  # its area code
        (1, -3, "(415) 555-2671", "+14155552671", "US", "America/Los_Angeles"),
        (1, 0, "", None, "GB", "Europe/London"),  # nothing to go on: the agency's
        (1, 0, None, None, "GB", "Europe/London"),
        # a chosen address country reads national numbers, and beats the mobile's country
        (2266, 0, "087 123 4567", "+353871234567", "IE", "Europe/Dublin"),
        (2266, 0, "44 077-14980001", "+447714980001", "IE", "Europe/Dublin"),
        (2249, 6, "0151 12345678", "+4915112345678", "DE", "Europe/Berlin"),
        (2185, 0, "call me", None, "AF", "Asia/Kabul"),
    ],
)
def test_country_phone_and_zone_from_the_best_evidence(
    normaliser: Normaliser,
    country_id: int,
    offset: int,
    mobile: str | None,
    e164: str | None,
    country: str,
    zone: str,
) -> None:
    row = normaliser.candidate(
        {
            **CANDIDATE,
            "address": {"countryID": country_id},
            "timeZoneOffsetEST": offset,
            "mobile": mobile,
            "phone": None,
        }
    )

    assert (row["mobile_e164"], row["country_code"], row["time_zone"]) == (e164, country, zone)


def test_names_and_referrers_as_agencies_keep_them(normaliser: Normaliser) -> None:
    row = normaliser.candidate(
        {
            **CANDIDATE,
            "firstName": "  JosÃ©  Maria ",  # UTF-8 read as Latin-1, stray spaces
            "lastName": "O'Brien",
            "referredByPerson": {"id": 12, "_subtype": "ClientContact"},
        }
    )

    assert (row["first_name"], row["last_name"]) == ("José Maria", "O'Brien")
    assert row["referred_by_candidate_id"] is None  # a client's referral is not a candidate's


def test_candidate_dates_as_bullhorn_keeps_them(warehouse_engine: sa.Engine) -> None:
    """Through the insert on DuckDB and Postgres: a date of birth is where it was entered
    (Bullhorn's US-Eastern midnight, the agency's, or a time of day; before 1970 too), the
    instants UTC to the millisecond."""
    from aftercare import extract

    births = {
        1: ms(1961, 5, 9, zone="America/New_York"),  # Bullhorn's midnight
        2: ms(1990, 7, 1, zone="Europe/London"),  # the agency's midnight: 30 June 23:00 UTC
        3: ms(1990, 7, 1, 12, 5),  # a time of day
        4: ms(1950, 1, 1, zone="Europe/London"),  # before the epoch, below zero
        5: None,
    }
    records = [
        {**CANDIDATE, "id": key, "dateOfBirth": born, "dateAdded": ms(2020, 1, 1, 9, 30) + key}
        for key, born in births.items()
    ]
    body = json.dumps({"start": 0, "data": records})
    warehouse.migrate(warehouse_engine)
    config = load_config()
    with warehouse.transaction(warehouse_engine) as conn:
        extract._changes_writer("Candidate", config, country_codes(BULLHORN_COUNTRIES), None)(
            conn, "load-1", {}, [Page("Candidate", 1, records, body)]
        )
        rows = conn.execute(
            sa.text(
                "select candidate_id, cast(date_of_birth as varchar) as born, date_added,"
                " date_last_modified from staging.candidate_changes order by candidate_id"
            )
        ).all()

    assert [row.born for row in rows] == [
        "1961-05-09",
        "1990-07-01",
        "1990-07-01",
        "1950-01-01",
        None,
    ]
    assert [row.date_added for row in rows] == [
        datetime(2020, 1, 1, 9, 30, 0, key * 1000, tzinfo=UTC) for key in births
    ]
    assert {row.date_last_modified for row in rows} == {datetime(2026, 6, 2, tzinfo=UTC)}


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


def _upstream_reading(text: str, regions: tuple[str, ...]) -> tuple[str, str] | None:
    """parse_phone's rule through phonenumbers itself (pure Python, the reference the
    normaliser's rphonenumbers must agree with): each reading in turn, valid in the region it
    was read against, else in the region phonenumbers finds for it."""
    for written, region in readings(text, regions):
        with contextlib.suppress(phonenumbers.NumberParseException):
            number = phonenumbers.parse(written, region)
            found = [
                candidate
                for candidate in (region, phonenumbers.region_code_for_number(number))
                if candidate and phonenumbers.is_valid_number_for_region(number, candidate)
            ]
            if found:
                return phonenumbers.format_number(number, E164), found[0]
    return None


def _written_forms() -> set[str]:
    """Every region's example numbers of the common types, written as people write them:
    nationally, internationally, with the "+" left out, with a digit too many or too few."""
    texts = {"(416) 555-0123", "07911 123456", "44 077-14980001", "+44 7797 712345", "call me"}
    kinds = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.VOIP,
    )
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = phonenumbers.format_number(example, NATIONAL)
            international = phonenumbers.format_number(example, INTERNATIONAL)
            texts |= {
                national,
                international,
                international.removeprefix("+"),
                national + "9",
                national[:-1],
            }
    return texts


def test_phone_readings_agree_with_phonenumbers() -> None:
    """The normaliser reads numbers with rphonenumbers (phonenumbers' API on a Rust port of
    libphonenumber); every region's example numbers in the forms people write them, against
    regions of other codes and of the same code, read as phonenumbers itself reads them: the
    same E.164 number and region, or none."""
    texts = _written_forms()
    assert len(texts) > 3_000
    for text in sorted(texts):
        for regions in (("US", "GB"), ("IE", "CA"), ("GB",), ("DE", "FR")):
            phone = parse_phone(text, regions)
            ours = (_e164(phone), phone.region) if phone else None
            assert ours == _upstream_reading(text, regions), (text, regions)


def test_time_zones_of_numbers_agree_with_phonenumbers() -> None:
    """A number's time zones (what decides a candidate's zone in a country of many) come from
    phonenumbers' own module fed rphonenumbers' numbers: for every example number read, the
    zones phonenumbers gives its own reading."""
    compared = many_zones = 0
    for text in sorted(_written_forms()):
        phone = parse_phone(text, ("US", "GB"))
        upstream = _upstream_reading(text, ("US", "GB"))
        if phone is None or upstream is None:
            continue
        theirs = phonenumbers.timezone.time_zones_for_number(phonenumbers.parse(upstream[0]))
        assert normalise.timezone.time_zones_for_number(phone.number) == theirs, text
        compared += 1
        many_zones += len(theirs) > 1
    assert compared > 1_500 and many_zones > 300


def test_rphonenumbers_bundles_the_metadata_of_the_phonenumbers_pinned() -> None:
    """The time zones of numbers come from phonenumbers' own module (rphonenumbers' [full]
    extra): its metadata release must be the one rphonenumbers' core was built with."""
    assert phonenumbers.__version__ == rphonenumbers.__phonenumbers_version__
