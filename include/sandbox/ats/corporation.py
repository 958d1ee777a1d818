"""A real corporation's shapes, as served (docs/sandbox-ats.md, "A real corporation's shapes"):
the agency's own picklist labels for the world's statuses and employment types, Bullhorn's
default country and a zero time zone offset where nobody set them, and date-only fields written
at US Eastern or London midnight or at a time of day. The world keeps its own values; each shape
is applied per page as records are read (by queries and by the API alike) and decided by the
record's id alone, so a record always looks the same. Planted records of a scenario keep what
they were planted with, but for the picklists' labels. (Shapes of the generated values
themselves, names, phones, referrers, recruiters' emails, are the generator's.)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from sandbox.ats.countries import UNITED_STATES
from sandbox.ats.generator import DAY_MS, EMPLOYMENT_TYPES, PLACEMENT_STATUSES
from sandbox.ats.store import INT_NULL, Shape, Table

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from sandbox.ats.settings import Corporation, DateMidnights

LONDON = ZoneInfo("Europe/London")
US_EASTERN = ZoneInfo("America/New_York")
#: The time of day some date-only fields carry (London time).
TIME_OF_DAY = timedelta(hours=9, minutes=30)
_GOLDEN = 0x9E3779B97F4A7C15


def unit(ids: np.ndarray, salt: int) -> np.ndarray:
    """A number in [0, 1) for each record id, the same every time for one salt (splitmix64)."""
    mixed = ids.astype(np.uint64) + np.uint64(salt * _GOLDEN % 2**64)
    mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed ^= mixed >> np.uint64(31)
    return (mixed >> np.uint64(11)).astype(np.float64) / 2.0**53


def _labelled(labels: Mapping[str, list[str]], salt: int) -> Shape:
    """A world value served as one of the corporation's labels for it (others unchanged)."""
    options = {value: np.array(names, dtype=object) for value, names in labels.items()}
    return partial(_labelled_shape, options, salt)


def _labelled_shape(
    options: dict[str, np.ndarray], salt: int, values: np.ndarray, ids: np.ndarray
) -> np.ndarray:
    served, pick = values.copy(), unit(ids, salt)
    for value, names in options.items():
        rows = values == value
        served[rows] = names[(pick[rows] * len(names)).astype(np.int64)]
    return served


def _replaced(share: float, salt: int, by: int) -> Shape:
    """About ``share`` of the records' values (those not null) served as ``by``."""
    return partial(_replaced_shape, share, salt, by)


def _replaced_shape(
    share: float, salt: int, by: int, values: np.ndarray, ids: np.ndarray
) -> np.ndarray:
    return np.where((values != INT_NULL) & (unit(ids, salt) < share), by, values)


@cache
def _day_shifts(day: int) -> tuple[int, int, int, int]:
    """What to add (ms) to the UTC midnight of a day (days since 1970) to serve that day at US
    Eastern midnight, at London midnight, at 09:30 London time, or at UTC midnight: instants on
    the same London calendar day."""
    midnight = datetime(1970, 1, 1) + timedelta(days=day)

    def offset(zone: ZoneInfo, wall: datetime) -> int:
        return int(wall.replace(tzinfo=zone).utcoffset().total_seconds()) * 1000  # type: ignore[union-attr]

    time_of_day = midnight + TIME_OF_DAY
    return (
        -offset(US_EASTERN, midnight),
        -offset(LONDON, midnight),
        int(TIME_OF_DAY.total_seconds()) * 1000 - offset(LONDON, time_of_day),
        0,
    )


def _midnights(shares: DateMidnights, salt: int) -> Shape:
    """Date-only values (UTC midnights) served at US Eastern midnight, London midnight or 09:30
    London time, by the record's share; the rest as stored."""
    edges = np.cumsum([shares.us_eastern, shares.london, shares.time_of_day])
    return partial(_midnights_shape, edges, salt)


def _midnights_shape(
    edges: np.ndarray, salt: int, values: np.ndarray, ids: np.ndarray
) -> np.ndarray:
    served = values.copy()
    known = np.flatnonzero(values != INT_NULL)
    kind = np.searchsorted(edges, unit(ids[known], salt), side="right")
    days, inverse = np.unique(values[known] // DAY_MS, return_inverse=True)
    shifts = np.array([_day_shifts(day) for day in days.tolist()], dtype=np.int64)
    served[known] += shifts.reshape(-1, 4)[inverse, kind]
    return served


def _options(values: Iterable[str], labels: Mapping[str, list[str]]) -> list[str]:
    """Every label of a picklist, in the world's order of its values (unlabelled: the value)."""
    return list(dict.fromkeys(label for value in values for label in labels.get(value, [value])))


def picklists(corporation: Corporation) -> dict[str, dict[str, list[str]]]:
    """The corporation's picklists: entity -> field -> the options, in a stable order."""
    return {
        "Placement": {
            "status": _options(PLACEMENT_STATUSES, corporation.status_labels),
            "employmentType": _options(EMPLOYMENT_TYPES, corporation.employment_type_labels),
        }
    }


def shape_tables(
    tables: Mapping[str, Table], corporation: Corporation, planted: Mapping[str, set[int]]
) -> None:
    """Serve the Placement and Candidate tables with the corporation's shapes, except the
    ``planted`` records (entity -> ids), which get only its picklist labels."""
    placements, candidates = tables["Placement"], tables["Candidate"]
    midnights = _midnights(corporation.date_midnights, salt=3)
    placements.shapes = {
        "status": _labelled(corporation.status_labels, salt=1),
        "employmentType": _labelled(corporation.employment_type_labels, salt=2),
        "dateBegin": midnights,
        "dateEnd": midnights,
    }
    if corporation.multi_value_employment_type:
        placements.listed = frozenset({"employmentType"})
    candidates.shapes = {
        "address.countryID": _replaced(corporation.default_country_share, salt=4, by=UNITED_STATES),
        "timeZoneOffsetEST": _replaced(corporation.zero_offset_share, salt=5, by=0),
        "dateOfBirth": midnights,
    }
    # the picklist labels are the corporation's words for the world's values: planted records
    # are served in them too; the other shapes would change the evidence a case is about
    placements.shaped_for_all = frozenset({"status", "employmentType"})
    for table in (placements, candidates):
        table.unshaped = np.array(sorted(planted.get(table.name, ())), dtype=np.int64)
