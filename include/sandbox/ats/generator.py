"""The sandbox ATS's invented world: recruiters, clients, job orders, candidates, placements.

Everything is drawn column-wise with numpy from generators seeded by the sandbox seed, so one
seed and one settings object give the same world, and a million placements take seconds. Names,
streets and companies come from the word lists below (no faker); phone numbers use fictional
ranges where they exist (UK 077xx, US 555 on area codes in service), always valid in their
country, and email addresses the reserved ``example`` domains.
A share of the records carries a data fault on purpose (see docs/sandbox-ats.md, "Generator"),
and the corporation's settings shape names, phones, referrers and recruiters' emails as a real
agency keeps them (docs/sandbox-ats.md, "A real corporation's shapes"); each such shape draws
the same random numbers whatever its share, so it changes nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import numpy as np

from sandbox.ats.countries import COUNTRY_ROWS, NAME_WIDTH, UNITED_STATES
from sandbox.ats.store import (
    INT_NULL,
    SCHEMAS,
    Table,
    column_kinds,
    empty_column,
)

if TYPE_CHECKING:
    from sandbox.ats.settings import Corporation

DAY_MS = 86_400_000
YEAR_DAYS = 365.25
_DAY = np.int64(DAY_MS)

Columns = dict[str, np.ndarray]


def _words(text: str) -> np.ndarray:
    """A word list as an object array, so that rows share one string object per word."""
    return np.array(text.split(), dtype=object)


FIRST_NAMES = _words(
    """Oliver Amelia George Isla Harry Ava Noah Mia Jack Ivy Leo Lily Arthur Florence Muhammad
    Freya Oscar Rosie Charlie Sophia Jacob Grace Thomas Ella Henry Evie James Poppy William
    Willow Alfie Sienna Joshua Emily Freddie Daisy Archie Alice Theo Matilda Isaac Phoebe Lucas
    Ruby Edward Chloe Samuel Hannah Daniel Sarah Ethan Olivia Liam Emma Mason Madison Logan
    Abigail Aiden Harper Connor Aoife Sean Niamh Ciaran Saoirse Lukas Felix Lena Jonas Marie
    Paul Lea Louis Hugo Manon Jules Camille Daan Sanne Sem Fleur Bram Julia Priya Arjun Aisha
    Omar Zara Yusuf Mei Kenji Ana Mateo Sofia Diego Lucia Nathan Megan Ryan Laura Adam Jessica
    Zoë José Seán Siobhán Chloé François Renée Björn Inés Andrés"""
)
LAST_NAMES = _words(
    """Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans
    Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James Phillips Mason
    Mitchell Rose Davis Rodriguez Cox Alexander Campbell Johnston Moore Murphy Kelly Byrne Walsh
    Ryan O'Brien McCarthy Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Martin
    Bernard Dubois Robert Richard Petit Durand Leroy Moreau Jansen Bakker Visser Smit Meijer
    Garcia Miller Martinez Anderson Lee Harris Clark Young King Scott Baker Adams Nelson Hill
    Carter Turner Parker Collins Edwards Stewart Morris Murray Hughes Ward Price Bennett Gray
    Cooper Hunt Fletcher Holmes Lloyd Barker Hart Chapman Fox Nguyen Singh Ahmed Ali Okafor
    O'Connor D'Souza Núñez Fernández Gonçalves Schröder Lefèvre"""
)
STREETS = _words(
    """Station Church Park Victoria Mill School Manor Green Queens Kings Highfield Albert York
    Chapel Springfield Grange Windsor Orchard Elm Oak Beech Willow Meadow River Castle Bridge
    Market Hillside Priory Abbey Cedar Maple Forest Lake Harbour Central Spring Union Granite"""
)
STREET_KINDS = _words("Road Street Lane Avenue Close Way Drive Gardens Crescent Place")
JOB_TITLES = np.array(
    [
        "Warehouse Operative",
        "Forklift Driver",
        "HGV Driver",
        "Registered Nurse",
        "Healthcare Assistant",
        "Care Worker",
        "Software Engineer",
        "Senior Software Engineer",
        "Data Analyst",
        "Data Engineer",
        "DevOps Engineer",
        "Project Manager",
        "Business Analyst",
        "Accountant",
        "Accounts Assistant",
        "Payroll Administrator",
        "Office Administrator",
        "Receptionist",
        "Customer Service Advisor",
        "Call Centre Agent",
        "Sales Executive",
        "Account Manager",
        "Marketing Coordinator",
        "HR Advisor",
        "Recruitment Coordinator",
        "Electrician",
        "Plumber",
        "Site Manager",
        "Quantity Surveyor",
        "Civil Engineer",
        "Mechanical Engineer",
        "Maintenance Technician",
        "CNC Machinist",
        "Production Operative",
        "Chef de Partie",
        "Kitchen Porter",
        "Bar Supervisor",
        "Teaching Assistant",
        "Supply Teacher",
        "Legal Secretary",
        "Paralegal",
        "Solicitor",
        "IT Support Analyst",
        "Network Engineer",
        "Cyber Security Analyst",
        "Product Owner",
        "UX Designer",
        "Cleaner",
        "Security Officer",
        "Delivery Driver",
    ],
    dtype=object,
)
COMPANY_FIRST = _words(
    """Acme Northwind Contoso Fabrikam Initech Globex Umbrella Stark Wayne Tyrell Cyberdyne
    Soylent Hooli Vandelay Wonka Gringotts Oceanic Massive Dynamic Aperture Black Mesa Blue
    Sun Red Rock Silver Lake Golden Gate Iron Bridge Evergreen Riverside Summit Pinnacle Harbour
    Meridian Beacon Lighthouse Keystone Cornerstone Oakwood Birchwood"""
)
COMPANY_SECOND = _words(
    """Logistics Health Foods Systems Software Retail Engineering Construction Energy Hotels
    Care Analytics Manufacturing Motors Pharma Labs Media Finance Insurance Distribution
    Facilities Security Telecom Education"""
)
COMPANY_SUFFIX = _words("Ltd plc Group Inc LLC GmbH SAS BV Limited Holdings")
EMAIL_DOMAINS = _words("example.com example.net example.org mail.example.com example.co.uk")

EMPLOYMENT_TYPES = {
    "Permanent": 0.45,
    "Direct Hire": 0.15,
    "Temp": 0.20,
    "Contract": 0.15,
    "Contract To Hire": 0.05,
}
PERMANENT = ("Permanent", "Direct Hire")
#: Every placement status of the world's own logic (the corporation labels them).
PLACEMENT_STATUSES = ("Submitted", "Approved", "Placed", "Completed", "Terminated")
STATUS_FUTURE = {"Submitted": 0.3, "Placed": 0.4, "Approved": 0.3}
STATUS_ENDED = {"Completed": 0.85, "Terminated": 0.1, "Approved": 0.05}
STATUS_CURRENT = {"Placed": 0.55, "Approved": 0.37, "Terminated": 0.06, "Submitted": 0.02}
CANDIDATE_STATUS = {"Active": 0.5, "Placed": 0.35, "Available": 0.1, "Inactive": 0.05}
SOURCES = {
    "LinkedIn": 0.3,
    "Job Board": 0.25,
    "Website": 0.2,
    "Advertisement": 0.1,
    "Client Referral": 0.05,
    "Walk-in": 0.05,
    "Agency Database": 0.05,
}
REFERRAL_SOURCE = "Candidate Referral"
UNKNOWN_STATUSES = _words("Onboarding On-Hold placed Pending")
UNKNOWN_EMPLOYMENT_TYPES = _words("Full-Time Part-Time Seasonal")
BAD_PHONES = np.array(["12345", "call me", "n/a", "0770090012", "+44"], dtype=object)

#: The personal fields a duplicate copies and an anonymisation blanks.
PERSONAL = (
    "firstName",
    "lastName",
    "name",
    "email",
    "mobile",
    "phone",
    "dateOfBirth",
    "address.address1",
    "address.city",
    "address.state",
    "address.zip",
    "address.countryID",
)


@dataclass(frozen=True)
class Country:
    """How candidates of one country look: cities (with state, postcode prefix and hours from
    US Eastern), mobile formats (the national one first) over a numbering space, landlines (in
    the national format), postcodes and streets. ``country_id`` is Bullhorn's (countries.py)."""

    country_id: int
    calling_code: int
    share: float
    cities: tuple[tuple[str, str, str, int], ...]
    mobile_space: int
    mobile_formats: tuple[Callable[[int], str], ...]
    landline: Callable[[int], str]
    postcode: Callable[[str, int], str]
    street: Callable[[int, str, str], str]


def _letters(number: int, count: int) -> str:
    alphabet = "ABDEFGHJLNPQRSTUWXYZ"
    return "".join(alphabet[(number // 20**k) % 20] for k in range(count))


def _uk_mobile(n: int) -> str:
    return f"077{n // 1_000_000 + 1:02d} {n % 1_000_000:06d}"


#: Area codes in service (a made-up one fails phonenumbers' validation, as it would a real
#: ATS import); with the 555 exchange they give fictional but valid-looking numbers.
US_AREA_CODES = (
    202,
    206,
    212,
    213,
    214,
    215,
    303,
    305,
    312,
    314,
    404,
    415,
    469,
    480,
    503,
    512,
    602,
    612,
    617,
    619,
    646,
    702,
    704,
    713,
    718,
    720,
    773,
    818,
    858,
    917,
)


def _us_parts(n: int) -> tuple[int, int]:
    return US_AREA_CODES[n // 10_000], n % 10_000


def _english_street(number: int, name: str, kind: str) -> str:
    return f"{number} {name} {kind}"


def _german_street(number: int, name: str, kind: str) -> str:
    return f"{name}strasse {number}"


def _dutch_street(number: int, name: str, kind: str) -> str:
    return f"{name}straat {number}"


COUNTRIES = (
    Country(
        2359,
        44,
        0.70,
        (
            ("London", "Greater London", "E", 5),
            ("London", "Greater London", "SW", 5),
            ("Manchester", "Greater Manchester", "M", 5),
            ("Birmingham", "West Midlands", "B", 5),
            ("Leeds", "West Yorkshire", "LS", 5),
            ("Glasgow", "Scotland", "G", 5),
            ("Bristol", "Bristol", "BS", 5),
            ("Liverpool", "Merseyside", "L", 5),
            ("Edinburgh", "Scotland", "EH", 5),
            ("Cardiff", "Wales", "CF", 5),
            ("Newcastle upon Tyne", "Tyne and Wear", "NE", 5),
            ("Sheffield", "South Yorkshire", "S", 5),
            ("Nottingham", "Nottinghamshire", "NG", 5),
            ("Belfast", "Northern Ireland", "BT", 5),
            ("Reading", "Berkshire", "RG", 5),
        ),
        99_000_000,  # 07701 .. 07799 (parts of 07700 are not in service)
        (
            _uk_mobile,
            lambda n: "+44 " + _uk_mobile(n)[1:],
            lambda n: _uk_mobile(n).replace(" ", ""),
        ),
        lambda n: f"020 7946 0{n % 1000:03d}",
        lambda prefix, r: f"{prefix}{1 + r % 20} {r // 20 % 10}{_letters(r // 200, 2)}",
        _english_street,
    ),
    Country(
        UNITED_STATES,
        1,
        0.15,
        (
            ("New York", "NY", "100", 0),
            ("Boston", "MA", "021", 0),
            ("Atlanta", "GA", "303", 0),
            ("Miami", "FL", "331", 0),
            ("Chicago", "IL", "606", -1),
            ("Dallas", "TX", "752", -1),
            ("Houston", "TX", "770", -1),
            ("Denver", "CO", "802", -2),
            ("Phoenix", "AZ", "850", -2),
            ("Los Angeles", "CA", "900", -3),
            ("San Francisco", "CA", "941", -3),
            ("Seattle", "WA", "981", -3),
        ),
        len(US_AREA_CODES) * 10_000,
        (
            lambda n: "({}) 555-{:04d}".format(*_us_parts(n)),
            lambda n: "{}-555-{:04d}".format(*_us_parts(n)),
            lambda n: "+1 {} 555 {:04d}".format(*_us_parts(n)),
        ),
        lambda n: f"(212) 555-01{n % 100:02d}",
        lambda prefix, r: f"{prefix}{r % 100:02d}",
        _english_street,
    ),
    Country(
        2266,
        353,
        0.06,
        (
            ("Dublin", "Dublin", "D02", 5),
            ("Dublin", "Dublin", "D08", 5),
            ("Cork", "Cork", "T12", 5),
            ("Galway", "Galway", "H91", 5),
            ("Limerick", "Limerick", "V94", 5),
        ),
        50_000_000,
        (
            lambda n: f"08{(3, 5, 6, 7, 9)[n // 10**7]} {n % 10**7 // 10**4:03d} {n % 10**4:04d}",
            lambda n: f"+353 8{(3, 5, 6, 7, 9)[n // 10**7]} {n % 10**7:07d}",
        ),
        lambda n: f"01 {n % 10**7:07d}",
        lambda prefix, r: f"{prefix} {_letters(r, 1)}{r % 1000:03d}",
        _english_street,
    ),
    Country(
        2249,
        49,
        0.03,
        (
            ("Berlin", "Berlin", "10", 6),
            ("Munich", "Bavaria", "80", 6),
            ("Hamburg", "Hamburg", "20", 6),
            ("Frankfurt", "Hesse", "60", 6),
            ("Cologne", "North Rhine-Westphalia", "50", 6),
        ),
        100_000_000,
        (lambda n: f"0151 {n:08d}", lambda n: f"+49 151 {n:08d}"),
        lambda n: f"030 {n % 10**7:07d}",
        lambda prefix, r: f"{prefix}{r % 1000:03d}",
        _german_street,
    ),
    Country(
        2245,
        33,
        0.03,
        (
            ("Paris", "Ile-de-France", "750", 6),
            ("Lyon", "Auvergne-Rhone-Alpes", "690", 6),
            ("Marseille", "Provence-Alpes-Cote d'Azur", "130", 6),
            ("Toulouse", "Occitanie", "310", 6),
        ),
        20_000_000,  # 06 10 .. 06 29: ranges in service (06 39, 06 9x are not)
        (
            lambda n: "06 " + " ".join(f"{n + 10**7:08d}"[i : i + 2] for i in range(0, 8, 2)),
            lambda n: "+33 6 " + " ".join(f"{n + 10**7:08d}"[i : i + 2] for i in range(0, 8, 2)),
        ),
        lambda n: f"01 {n % 10**8:08d}",
        lambda prefix, r: f"{prefix}{r % 20 + 1:02d}",
        lambda number, name, kind: f"{number} rue {name}",
    ),
    Country(
        2306,
        31,
        0.03,
        (
            ("Amsterdam", "North Holland", "10", 6),
            ("Rotterdam", "South Holland", "30", 6),
            ("Utrecht", "Utrecht", "35", 6),
            ("Eindhoven", "North Brabant", "56", 6),
        ),
        50_000_000,  # 06-1 .. 06-5: the ranges in service
        (lambda n: f"06-{n + 10**7:08d}", lambda n: f"+31 6 {n + 10**7:08d}"),
        lambda n: f"020 {n % 10**7:07d}",
        lambda prefix, r: f"{prefix}{r % 100:02d} {_letters(r // 100, 2)}",
        _dutch_street,
    ),
)


_NOT_DIGITS = re.compile(r"\D")


def kept(national: str, spec: Country) -> str:
    """A number as agencies keep it: the country code without "+", a space, then the national
    number with its trunk zero and a dash after three digits (``44 077-14980001``); a US number
    in its national form (``(212) 555-0100``)."""
    if spec.country_id == UNITED_STATES:
        return national
    digits = _NOT_DIGITS.sub("", national)
    return f"{spec.calling_code} {digits[:3]}-{digits[3:]}"


def plain(word: str) -> str:
    """A name as it goes into an email address: lower case ASCII letters only (accents off)."""
    folded = unicodedata.normalize("NFKD", word.lower())
    return "".join(char for char in folded if char.isascii() and char.isalpha())


def _mojibake(word: str) -> str:
    """``word`` written as UTF-8 and read back as Latin-1 (José -> JosÃ©)."""
    return word.encode("utf-8").decode("latin-1")


_PLAIN_FIRST = np.array([plain(word) for word in FIRST_NAMES], dtype=object)
_PLAIN_LAST = np.array([plain(word) for word in LAST_NAMES], dtype=object)
#: The names as agencies sometimes keep them: mojibake where a name has an accent, and a first
#: name with stray spaces.
_GARBLED_FIRST = np.array([_mojibake(word) for word in FIRST_NAMES], dtype=object)
_GARBLED_LAST = np.array([_mojibake(word) for word in LAST_NAMES], dtype=object)
_ACCENTED_FIRST = _GARBLED_FIRST != FIRST_NAMES
_ACCENTED_LAST = _GARBLED_LAST != LAST_NAMES
_SPACED_FIRST = np.array([f"  {word} " for word in FIRST_NAMES], dtype=object)


def epoch_ms(day: date) -> int:
    """Midnight UTC of ``day`` in epoch milliseconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000


def _pick(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    names = np.array(list(shares), dtype=object)
    weights = np.array(list(shares.values()))
    return names[rng.choice(len(names), size=size, p=weights / weights.sum())]


def new_ids(rng: np.random.Generator, first: int, size: int) -> np.ndarray:
    """``size`` ascending ids from ``first`` on, with the odd gap (deleted rows, as in any DB)."""
    return first - 1 + np.cumsum(rng.integers(1, 3, size=size), dtype=np.int64)


def absent_ids(rng: np.random.Generator, ids: np.ndarray, size: int) -> np.ndarray:
    """Ids that no row has (taken from the gaps between ``ids``)."""
    gaps = ids[:-1][np.diff(ids) > 1] + 1
    if not len(gaps):
        gaps = np.array([int(ids[-1]) + 10**9 if len(ids) else 10**9])
    return rng.choice(gaps, size=size)


def _scramble(ids: np.ndarray, space: int, salt: int) -> np.ndarray:
    """A bijection of id onto [0, space): distinct ids below ``space`` get distinct numbers."""
    return (ids * 982_451_653 + salt) % space  # a prime, so coprime to the spaces


def empty_rows(entity: str, size: int) -> Columns:
    """``size`` rows of ``entity`` with every column empty (nulls, zeros, False)."""
    return {name: empty_column(kind, size) for name, kind in column_kinds(SCHEMAS[entity]).items()}


def _weights(rng: np.random.Generator, size: int) -> np.ndarray:
    weights = rng.gamma(2.0, 1.0, size=size)
    return weights / weights.sum()


# ------------------------------------------------------------------------------------------------
# reference tables


def make_reference(
    rng: np.random.Generator, placements: int, corporation: Corporation
) -> dict[str, Table]:
    """Bullhorn's countries, recruiters (25, ``broken_owner_emails`` of them with an email of
    ``""`` or ``"@"``), client corporations (300) with one contact each, and job orders (one per
    two placements). Persons share one id space, as in Bullhorn: recruiters from 101, client
    contacts from 301 (below 901), candidates from 1001."""
    countries = empty_rows("Country", len(COUNTRY_ROWS))
    for at, (country_id, code, name) in enumerate(sorted(COUNTRY_ROWS)):
        countries["id"][at], countries["code"][at] = country_id, code
        countries["name"][at] = name.ljust(NAME_WIDTH)
    owners = empty_rows("CorporateUser", 25)
    owners["id"] = new_ids(rng, 101, 25)
    owners["firstName"] = FIRST_NAMES[rng.choice(len(FIRST_NAMES), 25, replace=False)]
    owners["lastName"] = LAST_NAMES[rng.choice(len(LAST_NAMES), 25, replace=False)]
    owners["email"] = np.array(
        [
            f"{plain(first)}.{plain(last)}@agency.example"
            for first, last in zip(owners["firstName"], owners["lastName"], strict=True)
        ],
        dtype=object,
    )
    broken = rng.permutation(25)[: corporation.broken_owner_emails]
    owners["email"][broken] = np.resize(np.array(["", "@"], dtype=object), len(broken))
    clients = empty_rows("ClientCorporation", 300)
    clients["id"] = new_ids(rng, 5001, 300)
    combos = rng.choice(len(COMPANY_FIRST) * len(COMPANY_SECOND), 300, replace=False)
    firsts, seconds = np.divmod(combos, len(COMPANY_SECOND))
    suffixes = COMPANY_SUFFIX[rng.integers(len(COMPANY_SUFFIX), size=300)]
    clients["name"] = np.array(
        [
            f"{a} {b} {c}"
            for a, b, c in zip(
                COMPANY_FIRST[firsts], COMPANY_SECOND[seconds], suffixes, strict=True
            )
        ],
        dtype=object,
    )
    contacts = empty_rows("ClientContact", 300)
    contacts["id"] = new_ids(rng, 301, 300)
    contacts["firstName"] = FIRST_NAMES[rng.integers(len(FIRST_NAMES), size=300)]
    contacts["lastName"] = LAST_NAMES[rng.integers(len(LAST_NAMES), size=300)]
    contacts["clientCorporation"] = clients["id"]
    size = max(placements // 2, 1)
    jobs = empty_rows("JobOrder", size)
    jobs["id"] = new_ids(rng, 20001, size)
    jobs["title"] = JOB_TITLES[rng.integers(len(JOB_TITLES), size=size)]
    jobs["clientCorporation"] = clients["id"][rng.choice(300, size=size, p=_weights(rng, 300))]
    return {
        "Country": Table("Country", countries),
        "CorporateUser": Table("CorporateUser", owners),
        "ClientCorporation": Table("ClientCorporation", clients),
        "ClientContact": Table("ClientContact", contacts),
        "JobOrder": Table("JobOrder", jobs),
    }


# ------------------------------------------------------------------------------------------------
# candidates and placements


def make_candidates(
    rng: np.random.Generator,
    ids: np.ndarray,
    added: np.ndarray,
    now_ms: int,
    owner_ids: np.ndarray,
    corporation: Corporation,
) -> Columns:
    """Candidates with the given ids, added (and last modified) at ``added``; about
    ``messy_name_share`` of their names kept messily (mojibake where the name has an accent,
    else stray spaces), their phones as ``mobiles`` writes them."""
    size = len(ids)
    cols = empty_rows("Candidate", size)
    cols["id"], cols["dateAdded"], cols["dateLastModified"] = ids, added, added.copy()
    first = rng.integers(len(FIRST_NAMES), size=size)
    last = rng.integers(len(LAST_NAMES), size=size)
    messy = rng.random(size) < corporation.messy_name_share
    garbled = messy & (_ACCENTED_FIRST[first] | _ACCENTED_LAST[last])
    cols["firstName"] = np.where(
        garbled,
        _GARBLED_FIRST[first],
        np.where(messy, _SPACED_FIRST[first], FIRST_NAMES[first]),
    )
    cols["lastName"] = np.where(garbled, _GARBLED_LAST[last], LAST_NAMES[last])
    cols["name"] = np.array(
        [f"{f} {la}" for f, la in zip(cols["firstName"], cols["lastName"], strict=True)],
        dtype=object,
    )
    pattern = rng.integers(3, size=size).tolist()
    domain = EMAIL_DOMAINS[rng.integers(len(EMAIL_DOMAINS), size=size)]
    parts = zip(_PLAIN_FIRST[first], _PLAIN_LAST[last], ids.tolist(), pattern, domain, strict=True)
    cols["email"] = np.array(
        [
            f"{f}.{la}{i}@{d}" if p == 0 else f"{f[0]}{la}{i}@{d}" if p == 1 else f"{f}{i}@{d}"
            for f, la, i, p, d in parts
        ],
        dtype=object,
    )
    country = rng.choice(len(COUNTRIES), size=size, p=[c.share for c in COUNTRIES])
    has_mobile = rng.random(size) < 0.95
    has_phone = rng.random(size) < 0.3
    share = corporation.agency_phone_share
    for which, spec in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == which)
        city = rng.integers(len(spec.cities), size=len(rows))
        cols["phone"][rows] = [
            kept(spec.landline(n), spec) if agency else spec.landline(n)
            for n, agency in zip(
                rng.integers(10**8, size=len(rows)).tolist(),
                (rng.random(len(rows)) < share).tolist(),
                strict=True,
            )
        ]
        cols["address.countryID"][rows] = spec.country_id
        cols["address.city"][rows] = [spec.cities[c][0] for c in city.tolist()]
        cols["address.state"][rows] = [spec.cities[c][1] for c in city.tolist()]
        cols["timeZoneOffsetEST"][rows] = [spec.cities[c][3] for c in city.tolist()]
        cols["address.zip"][rows] = [
            spec.postcode(spec.cities[c][2], r)
            for c, r in zip(
                city.tolist(), rng.integers(10**6, size=len(rows)).tolist(), strict=True
            )
        ]
        streets = zip(
            rng.integers(1, 200, size=len(rows)).tolist(),
            STREETS[rng.integers(len(STREETS), size=len(rows))],
            STREET_KINDS[rng.integers(len(STREET_KINDS), size=len(rows))],
            strict=True,
        )
        cols["address.address1"][rows] = [spec.street(*parts) for parts in streets]
    cols["mobile"] = mobiles(rng, country, ids, share)
    blank = np.where(rng.random(size) < share, "", None)  # agencies keep some "" for none
    cols["mobile"][~has_mobile] = blank[~has_mobile]
    cols["phone"][~has_phone] = blank[~has_phone]
    age_days = rng.integers(int(18 * YEAR_DAYS) + 1, int(72 * YEAR_DAYS), size=size)
    cols["dateOfBirth"] = (now_ms // DAY_MS - age_days) * _DAY
    cols["massMailOptOut"] = rng.random(size) < 0.05
    cols["smsOptIn"] = rng.random(size) < 0.7
    cols["status"] = _pick(rng, CANDIDATE_STATUS, size)
    cols["source"] = _pick(rng, SOURCES, size)
    cols["owner"] = rng.choice(owner_ids, size=size)
    return cols


def mobiles(
    rng: np.random.Generator, country: np.ndarray, keys: np.ndarray, agency_share: float
) -> np.ndarray:
    """Mobile numbers for people of the given countries (indexes into COUNTRIES), written the
    ways people write them, ``agency_share`` of them as agencies keep them (``kept``); distinct
    keys below a country's numbering space give distinct numbers."""
    numbers = np.full(len(country), None, dtype=object)
    for which, spec in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == which)
        shares = np.array([0.7, 0.2, 0.1][: len(spec.mobile_formats)])
        fmt = rng.choice(len(shares), size=len(rows), p=shares / shares.sum()).tolist()
        agency = (rng.random(len(rows)) < agency_share).tolist()
        scrambled = _scramble(keys[rows], spec.mobile_space, salt=which + 17).tolist()
        numbers[rows] = [
            kept(spec.mobile_formats[0](n), spec) if kind else spec.mobile_formats[f](n)
            for f, n, kind in zip(fmt, scrambled, agency, strict=True)
        ]
    return numbers


def country_of(country_ids: np.ndarray) -> np.ndarray:
    """Indexes into COUNTRIES of stored address countryIDs (the real country: Bullhorn's default
    1 is a shape of serving); unknown or blank: the first country."""
    known = np.array([spec.country_id for spec in COUNTRIES])
    found = country_ids[:, None] == known[None, :]
    return np.where(found.any(axis=1), found.argmax(axis=1), 0)


def referrers(
    rng: np.random.Generator,
    tables: Mapping[str, Table],
    ids: np.ndarray,
    names: np.ndarray,
    share: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The referring candidates ``ids`` (names ``names``), about ``share`` of them swapped for
    a client contact or a recruiter (a Person reference of another subtype)."""
    size = len(ids)
    outside, kind, pick = rng.random(size) < share, rng.integers(2, size=size), rng.random(size)
    ids, names = ids.copy(), names.copy()
    for which, entity in enumerate(("ClientContact", "CorporateUser")):
        rows = np.flatnonzero(outside & (kind == which))
        people = tables[entity].columns
        at = (pick[rows] * len(people["id"])).astype(np.int64)
        ids[rows] = people["id"][at]
        names[rows] = [
            f"{first} {last}"
            for first, last in zip(people["firstName"][at], people["lastName"][at], strict=True)
        ]
    return ids, names


def refer(cols: Columns, rows: np.ndarray, referrers: np.ndarray, names: np.ndarray) -> None:
    """Mark candidates at ``rows`` as referred by the persons ``referrers`` (ids, names)."""
    cols["source"][rows] = REFERRAL_SOURCE
    cols["referredByPerson"][rows] = referrers
    cols["referredBy"][rows] = names


def anonymise(cols: Columns, rows: np.ndarray) -> None:
    """GDPR anonymisation: the flag set, the personal fields blanked."""
    cols["isAnonymized"][rows] = True
    for name in (*PERSONAL, "referredBy"):
        blank = INT_NULL if cols[name].dtype != object else None
        cols[name][rows] = "" if name in ("firstName", "lastName", "name") else blank


def make_placements(
    rng: np.random.Generator,
    ids: np.ndarray,
    added: np.ndarray,
    begin: np.ndarray,
    candidate_ids: np.ndarray,
    now_ms: int,
    reference: dict[str, Table],
) -> Columns:
    """Placements starting at ``begin`` (midnights), with statuses as of ``now_ms``."""
    size = len(ids)
    cols = empty_rows("Placement", size)
    cols["id"], cols["dateAdded"], cols["dateLastModified"] = ids, added, added.copy()
    cols["candidate"], cols["dateBegin"] = candidate_ids, begin
    kind = _pick(rng, EMPLOYMENT_TYPES, size)
    cols["employmentType"] = kind
    temporary = ~np.isin(kind, PERMANENT)
    weeks = rng.integers(2, 53, size=size)
    cols["dateEnd"] = np.where(temporary, begin + weeks * 7 * _DAY, INT_NULL)
    future = begin > now_ms
    ended = temporary & (cols["dateEnd"] < now_ms)
    cols["status"] = np.where(
        future,
        _pick(rng, STATUS_FUTURE, size),
        np.where(ended, _pick(rng, STATUS_ENDED, size), _pick(rng, STATUS_CURRENT, size)),
    )
    owners = reference["CorporateUser"].ids
    cols["owner"] = owners[rng.choice(len(owners), size=size, p=_weights(rng, len(owners)))]
    cols["jobOrder"] = rng.choice(reference["JobOrder"].ids, size=size)
    return cols


# ------------------------------------------------------------------------------------------------
# data faults

CANDIDATE_FAULTS = (
    "invalid_email",
    "unparseable_phone",
    "missing_birth_date",
    "impossible_birth_date",
    "duplicate",
)
PLACEMENT_FAULTS = ("end_before_begin", "unknown_candidate", "unknown_status", "unknown_type")


def _faulty(rng: np.random.Generator, size: int, share: float, kinds: int) -> list[np.ndarray]:
    """Rows to soil, one array per fault kind, the kinds taking turns."""
    rows = rng.permutation(size)[: rng.binomial(size, share)]
    turn = (np.arange(len(rows)) + rng.integers(kinds)) % kinds
    return [rows[turn == kind] for kind in range(kinds)]


def soil_candidates(rng: np.random.Generator, cols: Columns, share: float, now_ms: int) -> None:
    """Give about ``share`` of the candidates one data fault each, every kind in turn."""
    size = len(cols["id"])
    email, phone, missing, impossible, duplicate = _faulty(rng, size, share, len(CANDIDATE_FAULTS))
    broken = [
        (f"{plain(f)}.{plain(la)}@", f"no-at-sign.{plain(la)}.example")
        for f, la in zip(cols["firstName"][email], cols["lastName"][email], strict=True)
    ]
    cols["email"][email] = [pair[k % 2] for k, pair in enumerate(broken)]
    cols["mobile"][phone] = BAD_PHONES[rng.integers(len(BAD_PHONES), size=len(phone))]
    cols["dateOfBirth"][missing] = INT_NULL
    today = now_ms // DAY_MS
    age_days = np.select(
        [np.arange(len(impossible)) % 3 == 0, np.arange(len(impossible)) % 3 == 1],
        [
            rng.integers(1, 14 * 365, len(impossible)),
            rng.integers(101 * 366, 120 * 365, len(impossible)),
        ],
        -rng.integers(1, 3650, len(impossible)),  # born in the future
    )
    cols["dateOfBirth"][impossible] = (today - age_days) * _DAY
    if size > 1:  # the same person entered twice, under another id
        originals = (duplicate + rng.integers(1, size, len(duplicate))) % size
        for name in (*PERSONAL, "timeZoneOffsetEST"):
            cols[name][duplicate] = cols[name][originals]


def soil_placements(
    rng: np.random.Generator, cols: Columns, share: float, candidate_ids: np.ndarray
) -> None:
    """Give about ``share`` of the placements one data fault each, every kind in turn."""
    size = len(cols["id"])
    backwards, orphan, status, kind = _faulty(rng, size, share, len(PLACEMENT_FAULTS))
    cols["dateEnd"][backwards] = (
        cols["dateBegin"][backwards] - rng.integers(1, 60, len(backwards)) * _DAY
    )
    cols["candidate"][orphan] = absent_ids(rng, candidate_ids, len(orphan))
    cols["status"][status] = UNKNOWN_STATUSES[rng.integers(len(UNKNOWN_STATUSES), size=len(status))]
    cols["employmentType"][kind] = UNKNOWN_EMPLOYMENT_TYPES[
        rng.integers(len(UNKNOWN_EMPLOYMENT_TYPES), size=len(kind))
    ]


# ------------------------------------------------------------------------------------------------
# the initial world


def _modified(
    rng: np.random.Generator, added: np.ndarray, now_ms: int, bulk_share: float
) -> np.ndarray:
    """Last-modified instants between ``added`` and now, most soon after ``added``; a share of
    the rows carry one of 20 bulk-update instants instead, the first of them shared by about a
    quarter of those rows (ties, as mass updates make, long enough to span pages)."""
    span = now_ms - 1 - added
    modified = added + (rng.random(len(added)) ** 2 * span).astype(np.int64)
    bulk = rng.random(len(added)) < bulk_share
    instants = now_ms - rng.integers(DAY_MS, 3 * 365 * DAY_MS, size=20)
    weights = 1 / np.arange(1, 21)
    stamp = instants[rng.choice(20, size=len(added), p=weights / weights.sum())]
    return np.where(bulk & (stamp > added), stamp, modified)


def generate(
    placements: int, clock_start: date, dirty_share: float, corporation: Corporation, seed: int
) -> dict[str, Table]:
    """The world on the clock's first day: every record added and last modified before it."""
    rng = np.random.default_rng([seed, 1])
    now = epoch_ms(clock_start)
    reference = make_reference(rng, placements, corporation)

    # placements: starts from five years back to two months ahead, more of them lately
    span = int(5 * YEAR_DAYS) + 61
    begin_day = (
        now // DAY_MS - int(5 * YEAR_DAYS) + (rng.random(placements) ** 0.7 * span).astype(np.int64)
    )
    begin = begin_day * _DAY
    lead = rng.integers(1, 61, size=placements) * _DAY - rng.integers(DAY_MS, size=placements)
    added = np.minimum(begin - lead, now - rng.integers(60_000, 3 * DAY_MS, size=placements))
    by_added = np.argsort(added, kind="stable")
    begin, added = begin[by_added], added[by_added]

    # candidates: ~0.8 per placement; some have two or three placements
    people = round(0.8 * placements) if placements else 0
    extra = placements - people
    triple = extra // 6
    counts = np.ones(people, dtype=np.int64)
    lucky = rng.permutation(people)
    counts[lucky[: extra - 2 * triple]] += 1
    counts[lucky[extra - 2 * triple : extra - triple]] += 2
    person_of = rng.permutation(np.repeat(np.arange(people), counts))
    first_added = np.full(people, now, dtype=np.int64)
    np.minimum.at(first_added, person_of, added)
    person_added = first_added - rng.integers(0, 90 * DAY_MS, size=people)
    by_person_added = np.argsort(person_added, kind="stable")
    rank = np.empty(people, dtype=np.int64)
    rank[by_person_added] = np.arange(people)
    person_ids = new_ids(rng, 1001, people)
    person_added = person_added[by_person_added]

    owner_ids = reference["CorporateUser"].ids
    candidates = make_candidates(rng, person_ids, person_added, now, owner_ids, corporation)
    candidates["dateLastModified"] = _modified(rng, person_added, now, bulk_share=0.03)
    referred = np.flatnonzero(rng.random(people) < 0.04)
    referred = referred[referred > 0]
    earlier = (rng.random(len(referred)) * referred).astype(np.int64)
    share = corporation.non_candidate_referral_share
    by, names = referrers(rng, reference, person_ids[earlier], candidates["name"][earlier], share)
    refer(candidates, referred, by, names)
    candidates["isDeleted"] = rng.random(people) < 0.003
    soil_candidates(rng, candidates, dirty_share, now)
    anonymise(candidates, np.flatnonzero(rng.random(people) < 0.005))

    placement_ids = new_ids(rng, 100_001, placements)
    table = make_placements(
        rng, placement_ids, added, begin, person_ids[rank[person_of]], now, reference
    )
    table["dateLastModified"] = _modified(rng, added, now, bulk_share=0.05)
    soil_placements(rng, table, dirty_share, person_ids)
    return {
        **reference,
        "Candidate": Table("Candidate", candidates),
        "Placement": Table("Placement", table),
        "Task": Table("Task", empty_rows("Task", 0)),
        "Note": Table("Note", empty_rows("Note", 0)),
    }
