"""The ATS side of the candidates' answers (docs/sandbox-ats.md, "Engagement"): recruiters
complete the call tasks the pipeline created, and candidates asked for a referral refer a friend,
who is sometimes placed later. Each outcome is drawn from the seed and what the task asks or the
touchpoint id alone and happens on the day its time falls in, as the world lives that day.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sandbox.ats import generator as gen
from sandbox.ats.store import INT_NULL
from sandbox.engagement import DAY_MS, EngagementSettings, draw, later

if TYPE_CHECKING:
    from sandbox.ats.world import World

#: The touchpoint id of a referral ask names the placement whose candidate was asked.
ASK = re.compile(r"^referral_ask:placement:(\d+):")
#: What a call task asks (its fate derives from these, not from its id).
TASK_CONTENT = ("subject", "type", "description", "candidate", "placement", "owner", "dateBegin")
#: Where the referral asks the providers received come from: (touchpoint id, ask time ms).
AskSource = Callable[[], Iterable[tuple[str, int]]]


@dataclass
class Referral:
    placement_id: int
    refer_at: int
    place_at: int | None
    candidate_id: int | None = None  # the referred candidate, once added
    settled: bool = False  # added (or impossible: the placement or referrer is gone)
    placed: bool = False


class Plays:
    """What candidates and recruiters do in the ATS in answer to our touchpoints."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.settings = EngagementSettings()
        self.asks: AskSource = lambda: ()
        self._task_fates: dict[int, int | None] = {}
        self.referrals: dict[str, Referral | None] = {}

    def live_day(self) -> Counter[str]:
        """Apply what happens in the day ``[world.now, world.now + 24 h)``."""
        world = self.world
        rng = np.random.default_rng([world.seed, 6, (world.now - world.start) // DAY_MS])
        done: Counter[str] = Counter()
        done["tasks_completed"] = self._complete_tasks()
        self._note_asks()
        done["referrals_from_asks"] = self._refer(rng)
        done["referred_placed"] = self._place(rng)
        return +done

    def stamps_at(self, times: list[int]) -> np.ndarray:
        """Distinct ``dateLastModified`` values at (or just after) ``times``, above every
        earlier one, increasing in the order of the times."""
        world, out = self.world, np.empty(len(times), dtype=np.int64)
        for position in np.argsort(np.array(times, dtype=np.int64), kind="stable").tolist():
            world.last_stamp = max(times[position], world.last_stamp + 1)
            out[position] = world.last_stamp
        return out

    # ------------------------------------------------------------------------------------------
    # call tasks

    def _complete_tasks(self) -> int:
        world, seed = self.world, self.world.seed
        day_start, day_end = world.now, world.now + DAY_MS
        tasks = world.tables["Task"]
        cols = tasks.columns
        rows, times = [], []
        for row in np.flatnonzero(~cols["isCompleted"]).tolist():
            task_id = int(cols["id"][row])
            if task_id not in self._task_fates:
                # ids follow the order tasks were made in; what the recruiter does follows
                # what the task asks
                asked = "|".join(str(cols[name][row]) for name in TASK_CONTENT)
                fate = None
                if draw(seed, "task-complete", asked) < self.settings.task_completion_share:
                    added, begin = int(cols["dateAdded"][row]), int(cols["dateBegin"][row])
                    base = begin if begin != INT_NULL else added
                    fate = max(later(seed, base, 0, 3 * DAY_MS, "task-complete-at", asked), added)
                self._task_fates[task_id] = fate
            fate = self._task_fates[task_id]
            if fate is not None and fate < day_end:
                rows.append(row)
                times.append(fate)
        if rows:
            cols["isCompleted"][rows] = True
            cols["dateCompleted"][rows] = times
            cols["dateLastModified"][rows] = self.stamps_at([max(t, day_start) for t in times])
            tasks.changed()
        return len(rows)

    # ------------------------------------------------------------------------------------------
    # referrals

    def _note_asks(self) -> None:
        """Decide the fate of each new referral ask (the first ask of a touchpoint counts)."""
        seed, rates = self.world.seed, self.settings
        for touchpoint, asked in self.asks():
            match = ASK.match(touchpoint)
            if touchpoint in self.referrals or match is None:
                continue
            fate = None
            if draw(seed, "referral", touchpoint) < rates.referral_share:
                refer_at = later(seed, asked, 2 * DAY_MS, 20 * DAY_MS, "referral-at", touchpoint)
                place_at = None
                if draw(seed, "referral-placed", touchpoint) < rates.referral_placed_share:
                    place_at = later(seed, refer_at, 3 * DAY_MS, 30 * DAY_MS, "placed", touchpoint)
                fate = Referral(int(match[1]), refer_at, place_at)
            self.referrals[touchpoint] = fate

    def _due(self, when: Callable[[Referral], int | None]) -> list[Referral]:
        day_end = self.world.now + DAY_MS
        due = [
            fate
            for fate in self.referrals.values()
            if fate is not None and (at := when(fate)) is not None and at < day_end
        ]
        return sorted(due, key=lambda fate: (when(fate), fate.placement_id))  # type: ignore[return-value]

    def _refer(self, rng: np.random.Generator) -> int:
        """New candidates referred by the asked candidates whose referral falls in the day."""
        world = self.world
        placements, candidates = world.tables["Placement"], world.tables["Candidate"]
        due = self._due(lambda fate: None if fate.settled else fate.refer_at)
        found: list[tuple[Referral, int]] = []
        for fate in due:
            fate.settled = True
            at = int(placements.positions(np.array([fate.placement_id]))[0])
            if at < 0:
                continue
            referrer = int(placements.columns["candidate"][at])
            if referrer == INT_NULL or candidates.positions(np.array([referrer]))[0] < 0:
                continue
            found.append((fate, referrer))
        if not found:
            return 0
        size = len(found)
        ids = gen.new_ids(rng, candidates.next_id(), size)
        owners = world.tables["CorporateUser"].ids
        new = gen.make_candidates(
            rng, ids, np.zeros(size, dtype=np.int64), world.now, owners, world.corporation
        )
        referrers = np.array([referrer for _, referrer in found], dtype=np.int64)
        names = candidates.columns["name"][candidates.positions(referrers)]
        gen.refer(new, np.arange(size), referrers, names)
        stamps = self.stamps_at([max(fate.refer_at, world.now) for fate, _ in found])
        new["dateAdded"], new["dateLastModified"] = stamps, stamps.copy()
        candidates.append(new)
        for (fate, _), candidate_id in zip(found, ids.tolist(), strict=True):
            fate.candidate_id = candidate_id
        return size

    def _place(self, rng: np.random.Generator) -> int:
        """Placements for referred candidates whose placement falls in the day."""
        world = self.world
        due = self._due(
            lambda fate: None if fate.placed or fate.candidate_id is None else fate.place_at
        )
        if not due:
            return 0
        size = len(due)
        placements = world.tables["Placement"]
        ids = gen.new_ids(rng, placements.next_id(), size)
        begin = (world.now // DAY_MS + rng.integers(7, 29, size=size)) * DAY_MS
        who = np.array([fate.candidate_id for fate in due], dtype=np.int64)
        added = np.zeros(size, dtype=np.int64)
        new = gen.make_placements(rng, ids, added, begin, who, world.now, world.tables)
        stamps = self.stamps_at([max(int(fate.place_at or 0), world.now) for fate in due])
        new["dateAdded"], new["dateLastModified"] = stamps, stamps.copy()
        placements.append(new)
        for fate in due:
            fate.placed = True
        return size
