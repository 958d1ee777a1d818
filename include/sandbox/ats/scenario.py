"""The ``edges`` scenario of the sandbox ATS (docs/sandbox-ats.md, "Scenarios"): among the usual
world's noise, planted candidates and placements whose story reaches every planning rule and
reason of the ledger, and the edges of the calendar, over fifteen nights from Friday 27 February
2026:

* 29 February birthdays and anniversaries fall on 28 February (a common year);
* the United States leave standard time on Sunday 8 March (inside later nights' look-back);
* on Wednesday 4 March dispatch is down until the evening (`OUTAGE`): a window of a day passes
  unsent, and the evening's run finds British candidates in their quiet hours.

Each planted case names the touchpoint it is about and what the ledger should end up saying of it
(`Case`); what the world does to a case on a given day (a termination, a moved start date, a
broken email and its fix, an anonymisation) is in the scenario's day script, and a candidate's
reply to a check-in text is scripted by number (`replies`). Planted records are left alone by the
usual world's daily changes, so the story plays out the same with any noise around it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import phonenumbers

from sandbox.ats import generator as gen
from sandbox.ats.store import INT_NULL, Table

if TYPE_CHECKING:
    from sandbox.ats.world import World

FIRST_DAY = date(2026, 2, 27)
NIGHTS = 15
#: The dispatch runs that do not happen (day, UTC hour): the 09:00 and 15:00 runs of 4 March.
OUTAGE = ((date(2026, 3, 4), 9), (date(2026, 3, 4), 15))
#: Address country id, timeZoneOffsetEST and city of the planted candidates' homes.
HOMES = {
    "london": (2359, 5, "London"),
    "new_york": (1, 0, "New York"),
    "honolulu": (1, -5, "Honolulu"),
    "berlin": (2249, 6, "Berlin"),
}
#: Mobile numbers of the planted candidates by country, from a serial below 10,000: valid
#: numbers in ranges in service, written in the international format.
_MOBILE_FORMAT = {2359: "+44 7711 {:06d}", 1: "+1 212 555 {:04d}", 2249: "+49 151 {:08d}"}


#: The start of planted placements that are only there to be running (their milestones fall
#: outside the story).
LONG_AGO = date(2025, 1, 6)


def day(n: int) -> date:
    """The scenario's n-th night (0: the first)."""
    return FIRST_DAY + timedelta(days=n)


@dataclass(frozen=True)
class Case:
    """One planted case: the edge it plants, its records, the touchpoint it is about and what
    the ledger should end up saying of it (``status`` or ``status:reason``; ``none``: no row)."""

    edge: str
    candidate_id: int
    placement_id: int | None
    touchpoint_id: str
    expect: str
    due_date: str | None = None  # the due date the row should carry, where the case is a date


@dataclass
class Edges:
    """The planted records of the scenario, its cases, its day script and scripted replies."""

    cases: list[Case] = field(default_factory=list)
    #: E.164 mobile -> the planted candidate's reply to any text we send: "negative",
    #: "positive" or "none" (the sandbox's Twilio neither opts these numbers out at random nor
    #: draws their replies).
    replies: dict[str, str] = field(default_factory=dict)
    script: dict[date, list[Change]] = field(default_factory=dict)
    candidate_ids: set[int] = field(default_factory=set)
    placement_ids: set[int] = field(default_factory=set)

    def live(self, world: World) -> Counter[str]:
        """Apply the script's changes of the world's day; every changed record gets an instant
        of the day after the day's other changes."""
        today = datetime.fromtimestamp(world.now / 1000, UTC).date()
        changed: dict[str, list[int]] = {"Candidate": [], "Placement": []}
        for change in self.script.get(today, []):
            changed[change.entity].append(change.apply(world))
        for entity, rows in changed.items():
            if rows:
                table = world.tables[entity]
                stamps = world.stamps(np.random.default_rng([world.seed, 7]), len(rows))
                table.columns["dateLastModified"][np.array(rows)] = stamps
                table.changed()
        return Counter(scenario_changes=sum(len(rows) for rows in changed.values()))

    def manifest(self) -> dict[str, Any]:
        """What the scenario plants, for the coverage report and the tests."""
        return {
            "name": "edges",
            "first_day": FIRST_DAY.isoformat(),
            "nights": NIGHTS,
            "dispatch_outage": [[d.isoformat(), hour] for d, hour in OUTAGE],
            "cases": [asdict(case) for case in self.cases],
        }


class _Planter:
    """Builds the planted records, appends them to the tables and writes the cases."""

    def __init__(self, tables: dict[str, Table]) -> None:
        self.tables = tables
        self.edges = Edges()
        self.candidates: list[dict[str, Any]] = []
        self.placements: list[dict[str, Any]] = []
        self.owner = int(tables["CorporateUser"].ids[0])
        self.job = int(tables["JobOrder"].ids[0])
        self.next_candidate = tables["Candidate"].next_id() + 1000
        self.next_placement = tables["Placement"].next_id() + 1000

    def candidate(
        self,
        home: str = "london",
        born: date = date(1990, 8, 15),
        reply: str | None = None,
        **fields: Any,
    ) -> int:
        record_id, self.next_candidate = self.next_candidate, self.next_candidate + 1
        country, offset, city = HOMES[home]
        serial = record_id % 10_000
        known_since = gen.epoch_ms(FIRST_DAY - timedelta(days=400))
        row = {
            "id": record_id,
            "firstName": "Edge",
            "lastName": f"Case{serial}",
            "name": f"Edge Case{serial}",
            "email": f"edge.case{record_id}@example.org",
            "mobile": _MOBILE_FORMAT[country].format(serial),
            "address.countryID": country,
            "address.city": city,
            "timeZoneOffsetEST": offset,
            "dateOfBirth": gen.epoch_ms(born),
            "massMailOptOut": False,
            "smsOptIn": True,
            "status": "Placed",
            "source": "LinkedIn",
            "owner": self.owner,
            "dateAdded": known_since,
            "dateLastModified": known_since,
            **fields,
        }
        self.candidates.append(row)
        self.edges.candidate_ids.add(record_id)
        if row["mobile"]:
            number = phonenumbers.parse(row["mobile"], None)
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            self.edges.replies[e164] = reply or "none"
        return record_id

    def placement(
        self,
        candidate: int,
        begin: date,
        kind: str = "Permanent",
        end: date | None = None,
        **fields: Any,
    ) -> int:
        record_id, self.next_placement = self.next_placement, self.next_placement + 1
        added = min(begin, FIRST_DAY) - timedelta(days=30)
        row = {
            "id": record_id,
            "candidate": candidate,
            "dateBegin": gen.epoch_ms(begin),
            "dateEnd": gen.epoch_ms(end) if end else INT_NULL,
            "employmentType": kind,
            "status": "Placed",
            "owner": self.owner,
            "jobOrder": self.job,
            "dateAdded": gen.epoch_ms(added),
            "dateLastModified": gen.epoch_ms(added),
            **fields,
        }
        self.placements.append(row)
        self.edges.placement_ids.add(record_id)
        return record_id

    def case(self, edge: str, touchpoint: str, expect: str, due: date | None = None) -> None:
        _milestone, subject, subject_id, _occurrence = touchpoint.split(":")
        placement = int(subject_id) if subject == "placement" else None
        candidate = int(subject_id) if placement is None else self._candidate_of(placement)
        self.edges.cases.append(
            Case(edge, candidate, placement, touchpoint, expect, due.isoformat() if due else None)
        )

    def _candidate_of(self, placement: int) -> int:
        return next(p["candidate"] for p in self.placements if p["id"] == placement)

    def on(self, when: date, change: Change) -> None:
        self.edges.script.setdefault(when, []).append(change)

    def commit(self) -> Edges:
        for entity, rows in (("Candidate", self.candidates), ("Placement", self.placements)):
            table = self.tables[entity]
            cols = gen.empty_rows(entity, len(rows))
            for position, row in enumerate(rows):
                for name, value in row.items():
                    cols[name][position] = value
            table.append(cols)
        return self.edges


@dataclass(frozen=True)
class Change:
    """A change of the day script: fields of one record set (dates as `date`), or the
    candidate anonymised (``values`` None)."""

    entity: str
    record_id: int
    values: dict[str, Any] | None

    def apply(self, world: World) -> int:
        """Make the change; the record's row."""
        at = world.position(self.entity, self.record_id)
        columns = world.tables[self.entity].columns
        if self.values is None:
            gen.anonymise(columns, np.array([at]))
        for name, value in (self.values or {}).items():
            columns[name][at] = gen.epoch_ms(value) if isinstance(value, date) else value
        return at


def _set(entity: str, record_id: int, **values: Any) -> Change:
    return Change(entity, record_id, values)


def plant(tables: dict[str, Table]) -> Edges:
    """Add the scenario's records to a world's tables (generated for ``FIRST_DAY``)."""
    p = _Planter(tables)
    week = timedelta(days=7)

    # availability checks (due 14 days before the end) and the candidate's next placement
    for edge, due, next_start in (
        ("next_placement_before_end", day(3), 9),  # starts 5 days before the end
        ("next_placement_after_end", day(3), 24),  # 10 days after it
        ("no_next_placement", day(4), 34),  # 20 days after it: the check goes out
    ):
        end = due + timedelta(days=14)
        who = p.candidate()
        placement = p.placement(who, due - 8 * week, "Temp", end)
        p.placement(who, due + timedelta(days=next_start), "Temp", due + 20 * week)
        expect = "sent" if edge == "no_next_placement" else "cancelled:next_placement"
        p.case(edge, f"availability_check:placement:{placement}:1", expect)

    # planned on the outage day (check-in due 4 March), then terminated: each employment type
    outage_day = OUTAGE[0][0]
    for kind in ("Permanent", "Direct Hire", "Temp", "Contract", "Contract To Hire"):
        who = p.candidate()
        begin = outage_day - timedelta(days=35)
        end = begin + 20 * week if kind not in gen.PERMANENT else None
        placement = p.placement(who, begin, kind, end)
        ended = {"status": "Terminated", **({"dateEnd": outage_day} if end else {})}
        p.on(outage_day, _set("Placement", placement, **ended))
        p.case(
            f"terminated_{kind.lower().replace(' ', '_')}",
            f"check_in:placement:{placement}:1",
            "cancelled:placement_ended",
        )

    # start dates moved: before the first day was planned, and after a check-in was planned
    who = p.candidate()
    placement = p.placement(who, day(8))
    p.on(day(1), _set("Placement", placement, dateBegin=day(10)))
    p.case("start_moved_before_planning", f"first_day:placement:{placement}:1", "sent", day(10))
    for edge, shift, expect, due in (
        ("start_moved_back_after_planning", -14, "cancelled:placement_changed", None),
        ("start_moved_on_after_planning", 7, "sent", outage_day + week),
    ):
        who = p.candidate()
        begin = outage_day - timedelta(days=35)
        placement = p.placement(who, begin)
        p.on(outage_day, _set("Placement", placement, dateBegin=begin + timedelta(days=shift)))
        p.case(edge, f"check_in:placement:{placement}:1", expect, due)

    # check-in texts (email opted out) answered no and yes: the review request 21 days on
    for edge, reply, expect in (
        ("negative_check_in_reply", "negative", "suppressed:negative_reply"),
        ("positive_check_in_reply", "positive", "sent"),
    ):
        who = p.candidate(reply=reply, massMailOptOut=True)
        placement = p.placement(who, day(14) - timedelta(days=56))
        p.case(edge, f"review_request:placement:{placement}:1", expect)

    # asked twice within 365 days (reviews) and 180 days (referrals): the second is not sent
    for milestone, offset in (("review_request", 56), ("referral_ask", 90)):
        who = p.candidate()
        first = p.placement(who, day(3) - timedelta(days=offset))
        second = p.placement(who, day(10) - timedelta(days=offset))
        p.case(f"{milestone}_first", f"{milestone}:placement:{first}:1", "sent")
        p.case(
            f"{milestone}_again_within_reach",
            f"{milestone}:placement:{second}:1",
            "suppressed:recently_sent",
        )

    # five messages due to one candidate in four days (cap: 1 a day, 3 in 7 days)
    who = p.candidate(born=date(1991, 3, 12))
    p.placement(who, day(10))  # first day 9 March
    p.placement(who, day(10) - timedelta(days=35))  # check-in due 9 March
    p.placement(who, day(11) - timedelta(days=56))  # review request due 10 March
    p.placement(who, day(12) - timedelta(days=90))  # referral ask due 11 March
    p.case("four_due_in_a_week", f"birthday:candidate:{who}:2026", "suppressed:frequency_cap")

    # reachable on no channel of the milestone
    who = p.candidate(massMailOptOut=True, smsOptIn=False, mobile=None)
    placement = p.placement(who, day(2))
    p.case(
        "no_eligible_channel",
        f"first_day:placement:{placement}:1",
        "suppressed:no_eligible_channel",
    )

    # the outage: a first day's window passes; a check-in waits out the quiet hours
    who = p.candidate()
    placement = p.placement(who, outage_day)
    p.case(
        "outage_longer_than_window", f"first_day:placement:{placement}:1", "expired:missed_window"
    )
    who = p.candidate()
    placement = p.placement(who, outage_day - timedelta(days=35))
    p.case("quiet_hours_held", f"check_in:placement:{placement}:1", "sent", outage_day)

    # time zones either side of midnight, and a change to summer time
    for edge, home in (("zone_behind_utc", "honolulu"), ("zone_ahead_of_utc", "berlin")):
        who = p.candidate(home=home, born=date(1988, 3, 6))
        p.placement(who, LONG_AGO)  # a birthday needs a placement begun (and running)
        p.case(edge, f"birthday:candidate:{who}:2026", "sent", day(7))
    for edge, start in (("before_summer_time", day(7)), ("after_summer_time", day(10))):
        who = p.candidate(home="new_york")
        placement = p.placement(who, start)
        p.case(edge, f"first_day:placement:{placement}:1", "sent", start)

    # 29 February: born on it, placed on it
    who = p.candidate(born=date(2000, 2, 29))
    p.placement(who, LONG_AGO)
    p.case("born_29_february", f"birthday:candidate:{who}:2026", "sent", day(1))
    who = p.candidate()
    placement = p.placement(who, date(2024, 2, 29))
    p.case("placed_29_february", f"work_anniversary:placement:{placement}:2", "sent", day(1))

    # quarantined (a broken import: added a month after its last change) over a birthday,
    # released before a first day
    who = p.candidate(born=date(1985, 3, 3))
    p.placement(who, LONG_AGO)
    placement = p.placement(who, day(6))
    p.on(day(2), _set("Candidate", who, dateAdded=day(32)))
    p.on(day(4), _set("Candidate", who, dateAdded=FIRST_DAY - timedelta(days=400)))
    p.case("quarantined", f"birthday:candidate:{who}:2026", "suppressed:quarantined")
    p.case("quarantine_released", f"first_day:placement:{placement}:1", "sent")

    # anonymised and deleted before their first day
    who = p.candidate()
    placement = p.placement(who, day(8))
    p.on(day(6), Change("Candidate", who, None))
    p.case("anonymised", f"first_day:placement:{placement}:1", "suppressed:candidate_removed")
    who = p.candidate()
    placement = p.placement(who, day(9))
    p.on(day(6), _set("Candidate", who, isDeleted=True))
    p.case("deleted", f"first_day:placement:{placement}:1", "suppressed:candidate_removed")

    # birthdays after a permanent placement ended (terminated, no end date): recently, long ago
    for edge, modified, expect in (
        ("birthday_after_recent_termination", FIRST_DAY - timedelta(days=31), "sent"),
        ("birthday_long_after_termination", FIRST_DAY - timedelta(days=800), "none"),
    ):
        who = p.candidate(born=date(1992, 3, 10))
        p.placement(
            who,
            date(2022, 6, 6),
            status="Terminated",
            dateLastModified=gen.epoch_ms(modified),
        )
        due = day(11) if expect != "none" else None
        p.case(edge, f"birthday:candidate:{who}:2026", expect, due)
    return p.commit()
