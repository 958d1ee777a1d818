"""A real corporation's shapes in the sandbox ATS (docs/sandbox-ats.md, "A real corporation's
shapes"), over real HTTP: each shape is compared with the same world served plain (every shape
off, same seed), so what a shape changes, and only that, shows."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import phonenumbers
import pytest
from pydantic import ValidationError

from sandbox import SandboxServer
from sandbox.ats import generator
from sandbox.ats.generator import DAY_MS
from sandbox.ats.scenario import FIRST_DAY, HOMES
from sandbox.ats.settings import AtsSandboxSettings, Corporation
from sandbox.ats.world import World
from sandbox.engagement import EngagementSettings
from tests.sandbox.test_sandbox_ats import (
    ATS,
    LONDON,
    REGIONS,
    Bullhorn,
    london_day,
    read_carefully,
    searched,
    serve,
    truth,
)

#: Every shape off: the world as the generator and the clock keep it.
PLAIN = {
    "default_country_share": 0,
    "zero_offset_share": 0,
    "agency_phone_share": 0,
    "non_candidate_referral_share": 0,
    "multi_value_employment_type": False,
    "status_labels": {},
    "employment_type_labels": {},
    "search_only_candidates": False,
    "date_midnights": {"us_eastern": 0, "london": 0, "time_of_day": 0},
    "messy_name_share": 0,
    "broken_owner_emails": 0,
}
CORPORATION = ATS.corporation
START = generator.epoch_ms(ATS.clock_start)


@pytest.fixture(scope="module")
def shaped() -> Iterator[SandboxServer]:
    with serve(rate_limit_per_minute=100_000) as running:
        yield running


@pytest.fixture(scope="module")
def plain() -> Iterator[SandboxServer]:
    with serve(rate_limit_per_minute=100_000, corporation=PLAIN) as running:
        yield running


@pytest.fixture(scope="module")
def bh(shaped: SandboxServer) -> Bullhorn:
    return Bullhorn(shaped)


@pytest.fixture(scope="module")
def worlds(shaped: SandboxServer, plain: SandboxServer) -> dict[str, dict[str, list[dict]]]:
    """Every record of both worlds, by entity: {"shaped": ..., "plain": ...}."""
    return {
        name: {entity: truth(server, entity) for entity in ("Placement", "Candidate")}
        for name, server in (("shaped", shaped), ("plain", plain))
    }


def pairs(worlds: dict, entity: str) -> list[tuple[dict, dict]]:
    """Each record as served shaped and plain."""
    return list(zip(worlds["shaped"][entity], worlds["plain"][entity], strict=True))


def test_a_setting_changes_its_shape_only(worlds: dict) -> None:
    for entity in ("Placement", "Candidate"):
        both = pairs(worlds, entity)
        assert all(s["id"] == p["id"] for s, p in both)
        assert all(s["dateLastModified"] == p["dateLastModified"] for s, p in both)
    assert all(
        (s["email"], s["address"]["city"], s["referredByPerson"] is None)
        == (p["email"], p["address"]["city"], p["referredByPerson"] is None)
        for s, p in pairs(worlds, "Candidate")
    )


# ------------------------------------------------------------------------------------------------
# 1. countries


def test_countries_are_bullhorns_and_query_only(bh: Bullhorn, worlds: dict) -> None:
    countries = bh.ok("query/Country", where="id>0", fields="id,code,name", orderBy="id", count=500)
    by_id = {row["id"]: row for row in countries["data"]}
    some = bh.ok("entity/Country/2359,1", fields="id,code,name")["data"]
    searched_for = bh.get("search/Country", query="code:UK", fields="id")

    assert countries["count"] == len(by_id) == 252
    assert [row["id"] for row in countries["data"]] == sorted(by_id)
    assert {
        country_id: (row["code"], row["name"].rstrip())
        for country_id, row in by_id.items()
        if country_id in (2359, 1, 2266, 2249, 2245, 2306, 2194, 2185, 2378, 2345)
    } == {
        2359: ("UK", "United Kingdom"),
        1: ("US", "United States"),
        2266: ("IE", "Ireland"),
        2249: ("DE", "Germany"),
        2245: ("FR", "France"),
        2306: ("NL", "Netherlands"),
        2194: ("AU", "Australia"),
        2185: ("AF", "Afghanistan"),
        2378: ("NONE", "- None Specified -"),
        2345: ("CH", "Switzerland"),
    }
    assert {len(row["name"]) for row in by_id.values()} == {64}  # padded, as Bullhorn has them
    assert some == [by_id[2359], by_id[1]]
    assert searched_for.status_code == 400
    assert searched_for.json()["errorMessageKey"] == "errors.searchNotSupported"
    stored = {c["address"]["countryID"] for c in worlds["plain"]["Candidate"]} - {None}
    assert stored == {2359, 1, 2266, 2249, 2245, 2306}


def test_country_options_page_by_start_and_count_up_to_300(bh: Bullhorn) -> None:
    first = bh.ok("options/Country", start=0, count=2)
    capped = bh.ok("options/Country", count=1000)
    last = bh.ok("options/Country", start=250, count=20)

    assert first == {
        "data": [
            {"value": 2378, "label": "- None Specified -"},
            {"value": 2185, "label": "Afghanistan"},
        ]
    }
    assert len(capped["data"]) == 252
    assert capped["messages"] == [{"detailMessage": "count capped at 300", "severity": "WARNING"}]
    assert {"value": 2359, "label": "United Kingdom"} in capped["data"]
    assert last["data"] == [
        {"value": 2369, "label": "Zambia"},
        {"value": 2370, "label": "Zimbabwe"},
    ]
    assert bh.get("options/Salary").status_code == 400


# ------------------------------------------------------------------------------------------------
# 2. the default country, a zero offset


def test_default_country_and_zero_offset(worlds: dict) -> None:
    both = [(s, p) for s, p in pairs(worlds, "Candidate") if p["address"]["countryID"]]
    abroad = [(s, p) for s, p in both if p["address"]["countryID"] != 1]
    defaulted = [s for s, p in abroad if s["address"]["countryID"] == 1]
    offsets = [(s, p) for s, p in both if p["timeZoneOffsetEST"]]
    zeroed = [s for s, p in offsets if s["timeZoneOffsetEST"] == 0]

    assert all(s["address"]["countryID"] in (1, p["address"]["countryID"]) for s, p in both)
    assert 0.25 < len(defaulted) / len(abroad) < 0.35
    assert any(s["address"]["city"] == "London" for s in defaulted)
    assert all(s["timeZoneOffsetEST"] in (0, p["timeZoneOffsetEST"]) for s, p in both)
    assert 0.45 < len(zeroed) / len(offsets) < 0.55


# ------------------------------------------------------------------------------------------------
# 3. phones


def test_phones_are_written_as_agencies_keep_them(worlds: dict) -> None:
    both = pairs(worlds, "Candidate")
    clean = [
        (number, REGIONS[p["address"]["countryID"]], s)
        for s, p in both
        for number in (s["mobile"], s["phone"])
        if number and number not in generator.BAD_PHONES and p["address"]["countryID"]
    ]
    read = [(read_carefully(number, region), region, s) for number, region, s in clean]
    kept = [number for number, _, _ in clean if re.fullmatch(r"[1-9]\d{0,2} 0\d\d-\d+", number)]
    holders: dict[str, set[tuple[str, str]]] = {}
    for number, region, s in clean:
        if number == s["mobile"]:
            mobile = read_carefully(number, region)
            e164 = phonenumbers.format_number(mobile, phonenumbers.PhoneNumberFormat.E164)
            holders.setdefault(e164, set()).add((s["name"], s["email"]))

    assert all(phonenumbers.is_valid_number(number) for number, _, _ in read)
    assert all(
        number.country_code == phonenumbers.country_code_for_region(region)
        for number, region, _ in read
    )
    assert 0.1 < len(kept) / len(clean) < 0.25
    assert {number.split(" ")[0] for number in kept} == {"44", "353", "49", "33", "31"}
    assert any(re.fullmatch(r"\(\d{3}\) 555-\d{4}", number) for number, _, _ in clean)
    assert all(len(people) == 1 for people in holders.values())  # one's, or a duplicate's
    for field in ("mobile", "phone"):
        absent = [s[field] for s, p in both if p[field] is None]
        assert "" in absent and None in absent, field


# ------------------------------------------------------------------------------------------------
# 4. referrers


def test_referrers_are_persons_of_three_subtypes(bh: Bullhorn, worlds: dict) -> None:
    hits = searched(bh, "Candidate", "referredByPerson.id:[* TO *]")
    asked = bh.ok(f"entity/Candidate/{hits[0]['id']}", fields="id,referredByPerson(id)")["data"]
    subtypes = Counter(hit["referredByPerson"]["_subtype"] for hit in hits)
    outside = [hit for hit in hits if hit["referredByPerson"]["_subtype"] != "Candidate"]
    candidates = {c["id"]: c for c in worlds["shaped"]["Candidate"]}
    owners = {
        f"{p['owner']['firstName']} {p['owner']['lastName']}": p["owner"]["id"]
        for p in worlds["shaped"]["Placement"]
    }

    assert [hit["id"] for hit in hits] == [
        c["id"] for c in worlds["shaped"]["Candidate"] if c["referredByPerson"]
    ]
    assert all(set(hit["referredByPerson"]) == {"id", "_subtype"} for hit in hits)
    assert asked["referredByPerson"] == hits[0]["referredByPerson"]
    assert set(subtypes) == {"Candidate", "ClientContact", "CorporateUser"}
    assert 0.1 < len(outside) / len(hits) < 0.45
    for hit in outside:  # persons share one id space: no candidate has their ids
        assert hit["referredByPerson"]["id"] not in candidates
    recruiters = [
        hit
        for hit in outside
        if hit["referredByPerson"]["_subtype"] == "CorporateUser" and hit["referredBy"]
    ]
    assert recruiters
    assert all(owners[hit["referredBy"]] == hit["referredByPerson"]["id"] for hit in recruiters)


def test_referrals_answering_our_asks_stay_candidate_referrals() -> None:
    settings = AtsSandboxSettings(
        placements=300, corporation=Corporation(non_candidate_referral_share=1.0)
    )
    world = World(settings, seed=3)
    world.plays.settings = EngagementSettings(referral_share=1.0, referral_placed_share=0.0)
    placements = world.truth("Placement", 0, 300)
    known = {c["id"] for c in world.truth("Candidate", 0, 10**6)}
    asked = next(p for p in placements if p["candidate"]["id"] in known)
    touchpoint = f"referral_ask:placement:{asked['id']}:1"
    world.plays.asks = lambda: [(touchpoint, world.now)]

    world.advance(21)

    referral = world.plays.referrals[touchpoint]
    assert referral is not None and referral.candidate_id is not None
    referred = world.truth("Candidate", world.position("Candidate", referral.candidate_id), 1)[0]
    assert referred["referredByPerson"] == {"id": asked["candidate"]["id"], "_subtype": "Candidate"}


# ------------------------------------------------------------------------------------------------
# 5, 6. picklists: multi-value employment types, the corporation's labels


def test_employment_type_is_a_multi_value_list(bh: Bullhorn, plain: SandboxServer) -> None:
    queried = bh.ok("query/Placement", where="id>0", fields="id,employmentType", count=50)["data"]
    found = bh.ok("search/Placement", query="id:[* TO *]", fields="employmentType", count=50)
    one = bh.ok(f"entity/Placement/{queried[0]['id']}", fields="employmentType")["data"]
    as_stored = Bullhorn(plain).ok("query/Placement", where="id>0", fields="employmentType")

    assert all(
        isinstance(row["employmentType"], list) and len(row["employmentType"]) == 1
        for row in queried + found["data"] + [one]
    )
    assert one == {"employmentType": queried[0]["employmentType"]}
    assert all(isinstance(row["employmentType"], str) for row in as_stored["data"])


def test_statuses_and_types_are_served_as_the_corporations_labels(
    bh: Bullhorn, worlds: dict
) -> None:
    both = pairs(worlds, "Placement")
    for field, labels in (
        ("status", CORPORATION.status_labels),
        ("employmentType", CORPORATION.employment_type_labels),
    ):
        served: dict[str, set[str]] = {}
        for s, p in both:
            value = s[field][0] if field == "employmentType" else s[field]
            served.setdefault(p[field], set()).add(value)
        assert {value: served[value] for value in labels} == {
            value: set(names) for value, names in labels.items()
        }, field
        faults = set(served) - set(labels)  # the generator's deliberate faults: unchanged
        assert faults and all(served[value] == {value} for value in faults), field
    hired = bh.ok("query/Placement", where="status = 'Hired'", fields="id,status", count=500)
    assert [row["id"] for row in hired["data"]] == [
        s["id"] for s, _ in both if s["status"] == "Hired"
    ][:500]
    assert searched(bh, "Placement", 'employmentType:"Fixed Term Contract"') == [
        s for s, _ in both if s["employmentType"] == ["Fixed Term Contract"]
    ]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"status_labels": {"Placed": ["Onboarding"]}}, "the generator's faults"),
        ({"employment_type_labels": {"Seasonal Work": ["Seasonal"]}}, "does not use"),
        ({"status_labels": {"Placed": []}}, "no label"),
    ],
)
def test_labels_must_label_the_worlds_values_and_leave_the_faults_out(
    labels: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Corporation.model_validate(labels)


# ------------------------------------------------------------------------------------------------
# 7. meta


def test_meta_describes_fields_picklists_and_the_country_option(bh: Bullhorn) -> None:
    placement = bh.ok("meta/Placement", fields="id,status,employmentType,candidate", meta="full")
    candidate = bh.ok("meta/Candidate", fields="address(countryID),referredByPerson", meta="full")
    basic = bh.ok("meta/Placement", fields="status")
    unknown = bh.get("meta/Placement", fields="id,shoeSize", meta="full")

    assert placement["entity"] == "Placement" and placement["label"] == "Placement"
    assert placement["entityMetaUrl"] == (
        f"{bh.rest_url}meta/Placement?fields=id,status,employmentType,candidate"
    )
    fields = {field["name"]: field for field in placement["fields"]}
    assert fields["id"]["type"] == "ID"
    assert {k: fields["status"][k] for k in ("type", "dataType", "label", "multiValue")} == {
        "type": "SCALAR",
        "dataType": "String",
        "label": "Status",
        "multiValue": False,
    }
    assert [option["value"] for option in fields["status"]["options"]] == [
        "Submitted",
        "Approved",
        "Accounts Approved",
        "Placed",
        "Hired",
        "Completed - Satisfactory",
        "Finished",
        "Terminated",
    ]
    assert all(option["label"] == option["value"] for option in fields["status"]["options"])
    assert fields["employmentType"]["multiValue"] is True
    assert fields["employmentType"]["inputType"] == "SELECT"
    assert {option["value"] for option in fields["employmentType"]["options"]} == {
        label for labels in CORPORATION.employment_type_labels.values() for label in labels
    }
    assert fields["candidate"]["type"] == "TO_ONE"
    assert fields["candidate"]["associatedEntity"]["entity"] == "Candidate"
    address, person = candidate["fields"]
    assert (address["type"], address["name"]) == ("COMPOSITE", "address")
    assert address["fields"] == [
        {
            "name": "countryID",
            "type": "SCALAR",
            "dataType": "Integer",
            "label": "Country",
            "optional": True,
            "multiValue": False,
            "optionsType": "Country",
            "optionsUrl": f"{bh.rest_url}options/Country",
            "inputType": "SELECT",
            "defaultValue": 1,
        }
    ]
    assert person["associatedEntity"]["entity"] == "Person"
    assert basic["fields"] == [
        {"name": "status", "type": "SCALAR", "dataType": "String", "label": "Status"}
    ]
    assert unknown.status_code == 400
    assert unknown.json() == {"errorMessage": "Invalid field 'shoeSize'", "errorCode": 400}


def test_meta_of_a_plain_corporation_lists_the_worlds_own_values(plain: SandboxServer) -> None:
    meta = Bullhorn(plain).ok("meta/Placement", fields="employmentType", meta="full")

    (field,) = meta["fields"]
    assert field["multiValue"] is False
    assert [option["value"] for option in field["options"]] == list(generator.EMPLOYMENT_TYPES)


# ------------------------------------------------------------------------------------------------
# 8. candidates are search-only; Lucene dates


def test_candidates_are_searched_not_queried(bh: Bullhorn, plain: SandboxServer) -> None:
    refused = bh.get("query/Candidate", where="id>0", fields="id")
    found = bh.ok("search/Candidate", query="isDeleted:false", fields="id,name", count=3)
    queried = Bullhorn(plain).get("query/Candidate", where="id>0", fields="id")

    assert refused.status_code == 400
    assert refused.json() == {
        "errorMessage": "Entity type 'Candidate' does not support query: use search/Candidate",
        "errorCode": 400,
        "errorMessageKey": "errors.queryNotSupported",
    }
    assert all(isinstance(hit["_score"], float) for hit in found["data"]) and found["data"]
    assert queried.status_code == 200


def _second(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y%m%d%H%M%S")


def test_lucene_dates_are_utc_seconds_not_epoch_ms(bh: Bullhorn, worlds: dict) -> None:
    candidates = worlds["shaped"]["Candidate"]
    at = sorted(c["dateLastModified"] for c in candidates)[len(candidates) // 2]
    second = _second(at)
    from_then = searched(
        bh, "Candidate", f"dateLastModified:[{second} TO *]", "dateLastModified,id"
    )
    after = searched(bh, "Candidate", f"dateLastModified:{{{second} TO *]", "dateLastModified,id")
    until = searched(bh, "Candidate", f"dateLastModified:[* TO {second}]")
    day = second[:8]
    that_day = searched(bh, "Candidate", f"dateLastModified:[{day} TO {day}235959]")
    refused = bh.get("search/Candidate", query=f"dateLastModified:[{at} TO *]")

    def ids(rows: list[dict]) -> list[int]:
        return [row["id"] for row in rows]

    in_order = sorted(candidates, key=lambda c: (c["dateLastModified"], c["id"]))
    assert ids(from_then) == [
        c["id"] for c in in_order if c["dateLastModified"] // 1000 >= at // 1000
    ]
    assert ids(after) == [c["id"] for c in in_order if c["dateLastModified"] // 1000 > at // 1000]
    assert ids(until) == sorted(
        c["id"] for c in candidates if c["dateLastModified"] // 1000 <= at // 1000
    )
    assert ids(that_day) == sorted(
        c["id"] for c in candidates if _second(c["dateLastModified"])[:8] == day
    )
    assert from_then and after and until and that_day
    assert refused.status_code == 400 and "yyyyMMddHHmmss" in refused.json()["errorMessage"]


# ------------------------------------------------------------------------------------------------
# 9. date-only fields


def test_date_only_fields_keep_their_london_day_at_other_hours(worlds: dict) -> None:
    ways: Counter[str] = Counter()
    for entity, fields in (
        ("Placement", ("dateBegin", "dateEnd")),
        ("Candidate", ("dateOfBirth",)),
    ):
        for s, p in pairs(worlds, entity):
            written = set(WAYS)
            for field in fields:
                if p[field] is None:
                    assert s[field] is None
                    continue
                assert p[field] % DAY_MS == 0  # stored at UTC midnight
                assert london_day(s[field]) == datetime.fromtimestamp(p[field] / 1000, UTC).date()
                written &= _ways(s[field])
            assert written, s  # a record's dates are all written one way
            ways.update(written)
    total = sum(len(worlds["shaped"][entity]) for entity in ("Placement", "Candidate"))
    assert 0.25 < ways["US Eastern midnight"] / total < 0.35
    assert 0.03 < ways["09:30 London"] / total < 0.07
    assert ways["London midnight"] > ways["UTC midnight"] > 0
    births = [s["dateOfBirth"] for s in worlds["shaped"]["Candidate"] if s["dateOfBirth"]]
    assert sum(born < 0 for born in births) / len(births) > 0.2  # born before 1970
    assert any(68 < (START - born) / (365.25 * DAY_MS) < 73 for born in births)


#: The ways a date-only field is written: the zone and the wall-clock time it is at.
WAYS = {
    "UTC midnight": (UTC, "00:00"),
    "US Eastern midnight": (ZoneInfo("America/New_York"), "00:00"),
    "London midnight": (LONDON, "00:00"),
    "09:30 London": (LONDON, "09:30"),
}


def _ways(ms: int) -> set[str]:
    """The ways an instant may have been written (in winter, London midnight is UTC's)."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return {
        way
        for way, (zone, wall) in WAYS.items()
        if moment.astimezone(zone).strftime("%H:%M") == wall
    }


# ------------------------------------------------------------------------------------------------
# 10. names and recruiters' emails


def test_names_and_recruiters_emails_as_agencies_keep_them(worlds: dict) -> None:
    both = [(s, p) for s, p in pairs(worlds, "Candidate") if not p["isAnonymized"]]
    messy = [s for s, p in both if s["firstName"] != p["firstName"]]
    names = [s["name"] for s, _ in both]
    emails = {p["owner"]["email"] for p in worlds["shaped"]["Placement"]}
    plain_emails = {p["owner"]["email"] for p in worlds["plain"]["Placement"]}

    assert any("'" in name for name in names) and any(not name.isascii() for name in names)
    assert any(name in ("Zoë", "José", "Müller") for s, _ in both for name in s["name"].split())
    assert 0.03 < len(messy) / len(both) < 0.07
    assert any(s["firstName"].startswith("  ") and s["firstName"].endswith(" ") for s in messy)
    assert any("Ã" in s["name"] for s in messy)
    assert all(s["name"] == f"{s['firstName']} {s['lastName']}" for s, _ in both)
    assert all(s["email"].isascii() for s, _ in both if s["email"])
    assert {"", "@"} <= emails and len(emails) == 25
    assert not {"", "@"} & plain_emails


# ------------------------------------------------------------------------------------------------
# the edges scenario


def test_the_edges_scenario_keeps_its_planted_values() -> None:
    settings = AtsSandboxSettings(placements=3000, clock_start=FIRST_DAY, scenario="edges")
    world = World(settings, seed=4)
    planted = world.scenario

    for entity, wanted in (
        ("Candidate", planted.candidate_ids),
        ("Placement", planted.placement_ids),
    ):
        table = world.tables[entity]
        rows = table.positions(np.fromiter(sorted(wanted), dtype=np.int64))
        records = [world.truth(entity, int(row), 1)[0] for row in rows]
        if entity == "Candidate":
            homes = {(country, offset) for country, offset, _ in HOMES.values()}
            assert {(c["address"]["countryID"], c["timeZoneOffsetEST"]) for c in records} <= homes
            assert all(c["dateOfBirth"] % DAY_MS == 0 for c in records)
        else:
            # the picklists in the corporation's labels, as every record; the rest as planted
            labels = settings.corporation.employment_type_labels
            assert {p["status"] for p in records} <= {"Placed", "Hired", "Terminated"}
            kind_of = {label: kind for kind, names in labels.items() for label in names}
            assert {kind_of[p["employmentType"][0]] for p in records} == set(
                generator.EMPLOYMENT_TYPES
            )
            assert all(p["dateBegin"] % DAY_MS == 0 for p in records)
    assert len(planted.cases) > 25
