"""The sandbox ATS's world: its tables, its clock, and how it changes.

The clock starts at ``clock_start`` (UTC midnight) and moves only when asked, a day at a time.
Each day the agency's users do what they do in a real ATS, in amounts drawn from the seed and the
day: new placements (for new or known candidates), moved start dates, terminations, temps
completing, candidates' new emails and phones, opt-outs, anonymisations, hard-deleted placements
and referred candidates. Every record changed that day gets a ``dateLastModified`` inside the day,
all distinct and above every earlier one; sandbox edits (PATCH, PUT) get the next instant after
the latest. Writes are validated as Bullhorn validates them.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import numpy as np

from sandbox.ats import generator as gen
from sandbox.ats.corporation import shape_tables
from sandbox.ats.engagement import Plays
from sandbox.ats.generator import DAY_MS
from sandbox.ats.query import all_fields, render
from sandbox.ats.scenario import Edges, plant
from sandbox.ats.settings import AtsSandboxSettings
from sandbox.ats.store import (
    INT_NULL,
    SCHEMAS,
    Composite,
    Kind,
    Scalar,
    Schema,
    ToOne,
    empty_column,
)

#: Daily changes, as expected shares of the placements (P) or candidates (C) each day.
RATES = {
    "new_placements": (0.003, "P"),  # 70 % of them for new candidates
    "moved_starts": (0.001, "P"),  # among placements not started yet
    "terminations": (0.001, "P"),  # among running placements
    "deleted_placements": (0.0001, "P"),
    "candidate_edits": (0.003, "C"),  # half a new email, half a new mobile
    "email_opt_outs": (0.0005, "C"),
    "sms_opt_outs": (0.0005, "C"),
    "anonymisations": (0.0001, "C"),
    "referrals": (0.0003, "C"),  # new candidates referred by known ones
}
RUNNING = ("Placed", "Approved", "Submitted")


class WriteError(ValueError):
    """A write Bullhorn would refuse: the problems, one message per property."""

    def __init__(self, entity: str, problems: list[dict[str, str]]) -> None:
        super().__init__(f"error persisting an entity of type: {entity}")
        self.problems = problems


def _fits(kind: Kind, value: Any) -> bool:
    """Whether a JSON value can go into a field of ``kind`` (null can, except in booleans)."""
    if value is None:
        return kind != "bool"
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool)


def _put(column: np.ndarray, at: int, value: Any) -> None:
    """Store a JSON value (null as the column's null)."""
    column[at] = INT_NULL if value is None and column.dtype != object else value


def _problem(name: str, kind: str, detail: str) -> dict[str, str]:
    return {"detailMessage": detail, "propertyName": name, "severity": "ERROR", "type": kind}


class World:
    """All records of one sandbox ATS, and its clock (epoch ms)."""

    def __init__(self, settings: AtsSandboxSettings, seed: int) -> None:
        self.seed = seed
        self.dirty_share = settings.dirty_share
        self.corporation = settings.corporation
        self.tables = gen.generate(
            settings.placements, settings.clock_start, settings.dirty_share, self.corporation, seed
        )
        self.start = self.now = gen.epoch_ms(settings.clock_start)
        #: The planted cases of the ``edges`` scenario (none in the usual world).
        self.scenario = plant(self.tables) if settings.scenario == "edges" else Edges()
        planted = {
            "Candidate": self.scenario.candidate_ids,
            "Placement": self.scenario.placement_ids,
        }
        shape_tables(self.tables, self.corporation, planted)
        audited = [self.tables[name] for name in ("Placement", "Candidate", "Task", "Note")]
        self.last_stamp = max(
            (int(table.columns["dateLastModified"].max()) for table in audited if len(table)),
            default=self.now - 1,
        )
        #: What candidates and recruiters do in answer to our touchpoints (its settings and
        #: the source of referral asks are set by the sandbox app).
        self.plays = Plays(self)

    # ------------------------------------------------------------------------------------------
    # records

    def truth(
        self, entity: str, start: int, count: int, stored: bool = False
    ) -> list[dict[str, Any]]:
        """Every field of the records ``start`` to ``start + count`` in id order, as served;
        ``stored``: as the world keeps them, without the corporation's shapes (the real
        country of a candidate served with Bullhorn's default one, say)."""
        table = self.tables[entity]
        if stored:
            table = copy.copy(table)
            table.shapes, table.listed = {}, frozenset()
        positions = np.arange(min(start, len(table)), min(start + count, len(table)))
        return render(self.tables, table, positions, all_fields(self.tables, entity))

    def position(self, entity: str, record_id: int) -> int:
        """The row of a record, or LookupError."""
        found = int(self.tables[entity].positions(np.array([record_id]))[0])
        if found < 0:
            raise LookupError(f"Cannot find entity of type '{entity}' with id {record_id}")
        return found

    def next_stamp(self) -> int:
        """An instant now (or after the latest change, if later) for an edit made now."""
        self.last_stamp = max(self.last_stamp + 1, self.now)
        return self.last_stamp

    def insert(
        self, entity: str, body: Any, required: tuple[str, ...], defaults: dict[str, Any]
    ) -> int:
        """Create a record from a JSON body; its id."""
        table = self.tables[entity]
        values = self._validated(entity, body, required)
        row = {name: empty_column(kind, 1) for name, kind in table.kinds.items()}
        for name, value in {**defaults, **values}.items():
            _put(row[name], 0, value)
        record_id = table.next_id()
        stamp = self.next_stamp()
        row["id"][0], row["dateAdded"][0], row["dateLastModified"][0] = record_id, stamp, stamp
        table.append(row)
        return record_id

    def update(self, entity: str, record_id: int, body: Any) -> dict[str, Any]:
        """Change fields of a record (a sandbox edit); the record as it is now."""
        at = self.position(entity, record_id)
        table = self.tables[entity]
        for name, value in self._validated(entity, body, ()).items():
            _put(table.columns[name], at, value)
        table.columns["dateLastModified"][at] = self.next_stamp()
        table.changed()
        return self.truth(entity, at, 1)[0]

    def delete(self, entity: str, record_id: int) -> None:
        """Hard delete, as Bullhorn deletes placements."""
        self.tables[entity].delete(np.array([self.position(entity, record_id)]))

    def _validated(self, entity: str, body: Any, required: tuple[str, ...]) -> dict[str, Any]:
        """The columns a JSON body writes, or WriteError listing every problem."""
        if not isinstance(body, dict):
            raise WriteError(entity, [_problem("", "INVALID_VALUE", "the body is not an object")])
        values: dict[str, Any] = {}
        problems = [
            _problem(name, "MISSING_REQUIRED_PROPERTY", f"'{name}' is required")
            for name in required
            if body.get(name) in (None, "")
        ]
        schema = SCHEMAS[entity]
        for name, value in body.items():
            spec = schema.get(name)
            if spec is None:
                problems.append(_problem(name, "UNKNOWN_PROPERTY", f"Invalid field '{name}'"))
            elif isinstance(spec, Scalar) and not spec.writable:
                problems.append(_problem(name, "READ_ONLY_PROPERTY", f"'{name}' is read-only"))
            elif isinstance(spec, Composite):
                self._composite(name, spec, value, values, problems)
            else:
                self._value(name, spec, value, values, problems)
        if problems:
            raise WriteError(entity, problems)
        return values

    def _composite(
        self, name: str, spec: Composite, value: Any, values: dict, problems: list
    ) -> None:
        if not isinstance(value, dict):
            problems.append(_problem(name, "INVALID_VALUE", f"'{name}' must be an object"))
            return
        parts: Schema = spec.parts
        for part, sub in value.items():
            if part in parts:
                self._value(f"{name}.{part}", parts[part], sub, values, problems)
            else:
                problems.append(
                    _problem(f"{name}.{part}", "UNKNOWN_PROPERTY", f"Invalid field '{name}.{part}'")
                )

    def _value(
        self, name: str, spec: Scalar | ToOne, value: Any, values: dict, problems: list
    ) -> None:
        if isinstance(spec, ToOne):
            ref = value.get("id") if isinstance(value, dict) and set(value) == {"id"} else None
            targets = spec.subtypes or (spec.target,)
            if value is None or (
                ref
                and _fits("int", ref)
                and any(self.tables[target].positions([ref])[0] >= 0 for target in targets)
            ):
                values[name] = ref
            else:
                kind = " or ".join(targets)
                detail = f"'{name}' must be null or {{\"id\": <an existing {kind} id>}}"
                problems.append(_problem(name, "INVALID_ASSOCIATION", detail))
        elif _fits(spec.kind, value):
            values[name] = value
        else:
            detail = (
                f"'{name}' must be {'epoch milliseconds' if spec.kind == 'date' else spec.kind}"
            )
            problems.append(_problem(name, "INVALID_VALUE", detail))

    # ------------------------------------------------------------------------------------------
    # the clock

    def advance(self, days: int) -> Counter[str]:
        """Live ``days`` days, one after the other; how many changes of each kind were made."""
        changes: Counter[str] = Counter()
        for _ in range(days):
            day = (self.now - self.start) // DAY_MS
            changes.update(_Day(self, np.random.default_rng([self.seed, 2, day])).live())
            changes.update(self.plays.live_day())
            changes.update(self.scenario.live(self))
            self.now += DAY_MS
        return changes

    def stamps(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` distinct increasing instants within today, all after the latest change."""
        offsets = np.sort(rng.integers(0, DAY_MS - count, size=count)) + np.arange(count)
        stamps = np.maximum(self.now + offsets, self.last_stamp + 1 + np.arange(count))
        if count:
            self.last_stamp = int(stamps[-1])
        return stamps


class _Day:
    """One day of an agency's work in its ATS, drawn from ``rng``."""

    def __init__(self, world: World, rng: np.random.Generator) -> None:
        self.world, self.rng = world, rng
        self.placements = world.tables["Placement"]
        self.candidates = world.tables["Candidate"]
        self.sizes = {"P": len(self.placements), "C": len(self.candidates)}
        self.done: Counter[str] = Counter()

    def count(self, kind: str) -> int:
        """How many changes of a kind today (Poisson around its rate)."""
        rate, population = RATES[kind]
        return int(self.rng.poisson(rate * self.sizes[population]))

    def pick(self, rows: np.ndarray, kind: str) -> np.ndarray:
        """The rows (of ``rows``) that undergo a kind of change today (never a planted one of
        the scenario: its story is its script's)."""
        rows = rows[~self.planted(RATES[kind][1], rows)]
        chosen = self.rng.choice(rows, size=min(self.count(kind), len(rows)), replace=False)
        self.done[kind] += len(chosen)
        return chosen

    def planted(self, population: str, rows: np.ndarray) -> np.ndarray:
        """Which of the rows of the placements (P) or candidates (C) the scenario planted."""
        table, planted = (
            (self.placements, self.world.scenario.placement_ids)
            if population == "P"
            else (self.candidates, self.world.scenario.candidate_ids)
        )
        return np.isin(table.columns["id"][rows], np.fromiter(planted, dtype=np.int64))

    def live(self) -> Counter[str]:
        """Apply the day's changes; how many of each kind."""
        self.placements.delete(self.pick(np.arange(len(self.placements)), "deleted_placements"))
        touched = [self.placements_move_on(), self.candidates_move_on()]
        new = list(self.newcomers())
        sizes = [len(rows) for rows in touched] + [len(cols["id"]) for cols in new]
        parts = np.split(
            self.rng.permutation(self.world.stamps(self.rng, sum(sizes))), np.cumsum(sizes)[:-1]
        )
        for table, rows, stamps in zip(
            (self.placements, self.candidates), touched, parts[:2], strict=True
        ):
            table.columns["dateLastModified"][rows] = stamps
            table.changed()
        for table, cols, stamps in zip(
            (self.candidates, self.placements), new, parts[2:], strict=True
        ):
            cols["dateAdded"], cols["dateLastModified"] = stamps, stamps.copy()
            table.append(cols)
        return self.done

    def placements_move_on(self) -> np.ndarray:
        """Moved start dates, terminations and completions; the rows changed."""
        now, day_end = self.world.now, self.world.now + DAY_MS
        cols = self.placements.columns
        begin, end, status = cols["dateBegin"], cols["dateEnd"], cols["status"]
        moved = self.pick(np.flatnonzero(begin >= now), "moved_starts")
        shift = self.rng.choice(np.r_[-14:0, 1:15], size=len(moved)) * DAY_MS
        has_end = end[moved] != INT_NULL
        begin[moved] += shift
        end[moved[has_end]] += shift[has_end]
        running = np.isin(status, RUNNING) & (begin < day_end) & ((end == INT_NULL) | (end >= now))
        ended = self.pick(np.flatnonzero(running), "terminations")
        status[ended] = "Terminated"
        end[ended[end[ended] != INT_NULL]] = now
        completed = np.flatnonzero(
            np.isin(status, ("Placed", "Approved")) & (end >= now) & (end < day_end)
        )
        status[completed] = "Completed"
        self.done["completions"] += len(completed)
        return np.unique(np.concatenate([moved, ended, completed]))

    def candidates_move_on(self) -> np.ndarray:
        """New emails and mobiles, opt-outs and anonymisations; the rows changed."""
        cols, rng = self.candidates.columns, self.rng
        live = np.flatnonzero(~cols["isAnonymized"] & ~cols["isDeleted"])
        edited = self.pick(live, "candidate_edits")
        emails, phones = edited[::2], edited[1::2]
        domains = gen.EMAIL_DOMAINS[rng.integers(len(gen.EMAIL_DOMAINS), size=len(emails))]
        names = zip(cols["firstName"][emails], cols["lastName"][emails], strict=True)
        cols["email"][emails] = [
            f"{gen.plain(first)}{gen.plain(last)}{record_id}@{domain}"
            for (first, last), record_id, domain in zip(
                names, cols["id"][emails].tolist(), domains, strict=True
            )
        ]
        countries = gen.country_of(cols["address.countryID"][phones])
        keys = rng.integers(2**40, size=len(phones))
        share = self.world.corporation.agency_phone_share
        cols["mobile"][phones] = gen.mobiles(rng, countries, keys, share)
        mail_out = self.pick(live[~cols["massMailOptOut"][live]], "email_opt_outs")
        cols["massMailOptOut"][mail_out] = True
        sms_out = self.pick(live[cols["smsOptIn"][live]], "sms_opt_outs")
        cols["smsOptIn"][sms_out] = False
        forgotten = self.pick(live, "anonymisations")
        gen.anonymise(cols, forgotten)
        return np.unique(np.concatenate([edited, mail_out, sms_out, forgotten]))

    def newcomers(self) -> tuple[gen.Columns, gen.Columns]:
        """New candidates (some referred by known ones, some by client contacts or recruiters)
        and new placements starting in one to eight weeks, 70 % of them for new candidates."""
        world, rng, cols = self.world, self.rng, self.candidates.columns
        live = np.flatnonzero(~cols["isAnonymized"] & ~cols["isDeleted"])
        known = cols["id"][live[~self.planted("C", live)]]
        hired = self.count("new_placements")
        newcomer = (rng.random(hired) < 0.7) | (len(known) == 0)
        referred = self.count("referrals") if len(known) else 0
        self.done.update(new_placements=hired, referrals=referred)
        people = int(newcomer.sum()) + referred
        ids = gen.new_ids(rng, self.candidates.next_id(), people)
        owners = world.tables["CorporateUser"].ids
        new_c = gen.make_candidates(
            rng, ids, np.zeros(people, dtype=np.int64), world.now, owners, world.corporation
        )
        referring = self.candidates.positions(rng.choice(known, size=referred))
        by, names = gen.referrers(
            rng,
            world.tables,
            cols["id"][referring],
            cols["name"][referring],
            world.corporation.non_candidate_referral_share,
        )
        gen.refer(new_c, np.arange(people - referred, people), by, names)
        gen.soil_candidates(rng, new_c, world.dirty_share, world.now)
        self.done["new_candidates"] += people
        who = rng.choice(known, size=hired) if len(known) else np.zeros(hired, dtype=np.int64)
        who[newcomer] = ids[: int(newcomer.sum())]
        begin = (world.now // DAY_MS + rng.integers(7, 61, size=hired)) * DAY_MS
        placement_ids = gen.new_ids(rng, self.placements.next_id(), hired)
        added = np.zeros(hired, dtype=np.int64)
        new_p = gen.make_placements(rng, placement_ids, added, begin, who, world.now, world.tables)
        everyone = np.concatenate([cols["id"], ids])
        gen.soil_placements(rng, new_p, world.dirty_share, everyone)
        return new_c, new_p
