"""The sandbox ATS's records: entity schemas and column tables with keyset indexes.

A table keeps one numpy array per column, rows in ascending ``id`` order (ids only grow), so a
million placements fit in a few hundred MB and a page is a slice, not a scan. Nulls are
``INT_NULL`` in integer and date columns and ``None`` in string columns. To-one associations are
stored as the target's id; an address is one column per part (``address.city``). A column may be
served through a shape (a real corporation's way with its data, corporation.py): what queries
see and what the API renders is the shaped value, computed per page from the stored one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["int", "date", "bool", "str"]

#: Null in integer and date (epoch ms) columns.
INT_NULL = np.iinfo(np.int64).min
INT_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Scalar:
    """A plain field; read-only ones (ids, audit dates) cannot be written through the API."""

    kind: Kind
    writable: bool = True


@dataclass(frozen=True)
class ToOne:
    """A to-one association: the sub-fields served and those served when none are asked for.
    With ``subtypes`` it is a Person reference (Bullhorn's LinkedPerson): the person is a record
    of whichever of those entities holds the id (persons share one id space, the first subtype
    the rest), served with its ``_subtype``."""

    target: str
    fields: tuple[str, ...]
    default: tuple[str, ...]
    subtypes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Composite:
    """A composite value stored with its owner (Bullhorn's Address)."""

    parts: Mapping[str, Scalar]


Field = Scalar | ToOne | Composite
Schema = Mapping[str, Field]

_ID = Scalar("int", writable=False)
_AUDIT = Scalar("date", writable=False)
_STR, _INT, _DATE, _BOOL = Scalar("str"), Scalar("int"), Scalar("date"), Scalar("bool")
_ID_ONLY = ("id",)
#: The subtypes of a Person reference (one id space for all three).
PERSONS = ("Candidate", "ClientContact", "CorporateUser")

SCHEMAS: dict[str, Schema] = {
    "Placement": {
        "id": _ID,
        "candidate": ToOne(
            "Candidate", ("id", "firstName", "lastName"), ("id", "firstName", "lastName")
        ),
        "jobOrder": ToOne("JobOrder", ("id", "title", "clientCorporation"), ("id", "title")),
        "owner": ToOne(
            "CorporateUser",
            ("id", "firstName", "lastName", "email"),
            ("id", "firstName", "lastName"),
        ),
        "status": _STR,
        "employmentType": _STR,
        "dateBegin": _DATE,
        "dateEnd": _DATE,
        "dateAdded": _AUDIT,
        "dateLastModified": _AUDIT,
    },
    "Candidate": {
        "id": _ID,
        "firstName": _STR,
        "lastName": _STR,
        "name": _STR,
        "email": _STR,
        "mobile": _STR,
        "phone": _STR,
        "dateOfBirth": _DATE,
        "address": Composite(
            {"address1": _STR, "city": _STR, "state": _STR, "zip": _STR, "countryID": _INT}
        ),
        "timeZoneOffsetEST": _INT,
        "massMailOptOut": _BOOL,
        "smsOptIn": _BOOL,
        "status": _STR,
        "source": _STR,
        "referredBy": _STR,
        "referredByPerson": ToOne("Candidate", _ID_ONLY, _ID_ONLY, PERSONS),
        "owner": ToOne("CorporateUser", _ID_ONLY, _ID_ONLY),
        "isDeleted": _BOOL,
        "isAnonymized": _BOOL,
        "dateAdded": _AUDIT,
        "dateLastModified": _AUDIT,
    },
    "Task": {
        "id": _ID,
        "subject": _STR,
        "type": _STR,
        "description": _STR,
        "candidate": ToOne("Candidate", _ID_ONLY, _ID_ONLY),
        "placement": ToOne("Placement", _ID_ONLY, _ID_ONLY),
        "owner": ToOne("CorporateUser", _ID_ONLY, _ID_ONLY),
        "dateBegin": _DATE,
        "dateEnd": _DATE,
        "priority": _INT,
        "isCompleted": _BOOL,
        "dateCompleted": _DATE,
        "dateAdded": _AUDIT,
        "dateLastModified": _AUDIT,
    },
    "Note": {
        "id": _ID,
        "comments": _STR,
        "action": _STR,
        "personReference": ToOne("Candidate", _ID_ONLY, _ID_ONLY),
        "commentingPerson": ToOne("CorporateUser", _ID_ONLY, _ID_ONLY),
        "dateAdded": _AUDIT,
        "dateLastModified": _AUDIT,
    },
    # reached only through associations
    "JobOrder": {
        "id": _ID,
        "title": _STR,
        "clientCorporation": ToOne("ClientCorporation", ("id", "name"), ("id", "name")),
    },
    "ClientCorporation": {"id": _ID, "name": _STR},
    "ClientContact": {
        "id": _ID,
        "firstName": _STR,
        "lastName": _STR,
        "clientCorporation": ToOne("ClientCorporation", ("id", "name"), ("id", "name")),
    },
    "CorporateUser": {"id": _ID, "firstName": _STR, "lastName": _STR, "email": _STR},
    "Country": {"id": _ID, "code": _STR, "name": _STR},
}

#: The entities the REST API serves and the calls that serve them (Bullhorn answers ``query``
#: for some entity types, ``search`` for others; ``entity`` and ``meta`` for all). Candidate's
#: ``query`` is refused when the corporation's ``search_only_candidates`` is set.
SERVED: dict[str, tuple[str, ...]] = {
    "Placement": ("query", "search"),
    "Candidate": ("query", "search"),
    "Task": ("query", "search"),
    "Note": ("query", "search"),
    "Country": ("query",),
}

#: The fields a record of an entity must have (a created Task or Note is refused without them;
#: meta calls the others not optional).
REQUIRED: dict[str, tuple[str, ...]] = {
    "Placement": ("candidate", "jobOrder", "status", "employmentType", "dateBegin"),
    "Candidate": ("firstName", "lastName", "status"),
    "Task": ("subject", "type"),
    "Note": ("comments", "personReference"),
}


def column_kinds(schema: Schema) -> dict[str, Kind]:
    """The stored columns of a schema and their kinds (associations store the target id)."""
    kinds: dict[str, Kind] = {}
    for name, spec in schema.items():
        if isinstance(spec, Scalar):
            kinds[name] = spec.kind
        elif isinstance(spec, ToOne):
            kinds[name] = "int"
        else:
            kinds.update({f"{name}.{part}": sub.kind for part, sub in spec.parts.items()})
    return kinds


def empty_column(kind: Kind, size: int) -> np.ndarray:
    """A column of ``size`` nulls (``False`` for booleans)."""
    if kind == "str":
        return np.full(size, None, dtype=object)
    if kind == "bool":
        return np.zeros(size, dtype=bool)
    return np.full(size, INT_NULL, dtype=np.int64)


class KeysetIndex:
    """Row positions sorted by (key, id), and where a (key, id) bound falls in that order."""

    def __init__(self, positions: np.ndarray, keys: np.ndarray, ids: np.ndarray) -> None:
        self.positions, self.keys, self.ids = positions, keys, ids

    def __len__(self) -> int:
        return len(self.positions)

    def rank(self, key: int, record_id: int) -> int:
        """How many rows sort at or before (key, record_id)."""
        left = int(np.searchsorted(self.keys, key, side="left"))
        right = int(np.searchsorted(self.keys, key, side="right"))
        return left + int(np.searchsorted(self.ids[left:right], record_id, side="right"))


#: A column's shape: (stored values, their record ids) -> the values served.
Shape = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Table:
    """One entity's rows, column by column, in ascending id order, and how they are served:
    ``shapes`` (column -> Shape) for the records whose ids are not ``unshaped`` (for every
    record in the ``shaped_for_all`` columns), and the ``listed`` columns, served as lists
    (multi-value picklists)."""

    def __init__(self, name: str, columns: Mapping[str, np.ndarray]) -> None:
        self.name = name
        self.schema = SCHEMAS[name]
        self.kinds = column_kinds(self.schema)
        if set(columns) != set(self.kinds):
            raise ValueError(f"{name}: columns {sorted(columns)} != {sorted(self.kinds)}")
        self.columns = {name: columns[name] for name in self.kinds}
        self._spare: dict[str, np.ndarray] = dict(self.columns)  # see append
        self._capacity = len(self.columns["id"])
        self._indexes: dict[str, KeysetIndex] = {}
        self.shapes: dict[str, Shape] = {}
        self.unshaped = np.empty(0, dtype=np.int64)
        self.shaped_for_all: frozenset[str] = frozenset()
        self.listed: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.columns["id"])

    @property
    def ids(self) -> np.ndarray:
        return self.columns["id"]

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """The row of each id, -1 where there is none."""
        ids = np.asarray(ids, dtype=np.int64)
        found = np.searchsorted(self.ids, ids).clip(max=max(len(self) - 1, 0))
        hit = (self.ids[found] == ids) if len(self) else np.zeros(len(ids), dtype=bool)
        return np.where(hit, found, -1)

    def served(self, name: str, positions: np.ndarray) -> np.ndarray:
        """The values of a column at ``positions`` as served (shaped, where it has a shape)."""
        values = self.columns[name][positions]
        shape = self.shapes.get(name)
        if shape is None:
            return values
        ids = self.ids[positions]
        if name in self.shaped_for_all:
            return shape(values, ids)
        return np.where(np.isin(ids, self.unshaped), values, shape(values, ids))

    def next_id(self) -> int:
        return int(self.ids[-1]) + 1 if len(self) else 1

    def changed(self) -> None:
        """Forget the indexes; the next query rebuilds the one it needs."""
        self._indexes.clear()

    def append(self, columns: Mapping[str, np.ndarray]) -> None:
        """Add rows; their ids must be above every id already here. The columns are views of
        arrays with room to spare, grown by doubling: adding rows one at a time (tasks the
        pipeline creates) costs amortised constant time, not a copy of the table each."""
        if len(columns["id"]) and len(self) and columns["id"][0] <= self.ids[-1]:
            raise ValueError(f"{self.name}: new ids must be above {self.ids[-1]}")
        length, added = len(self), len(columns["id"])
        if length + added > self._capacity:
            self._capacity = max(2 * self._capacity, length + added, 16)
            for name, column in self.columns.items():
                grown = np.empty(self._capacity, dtype=column.dtype)
                grown[:length] = column
                self._spare[name] = grown
        for name, spare in self._spare.items():
            spare[length : length + added] = np.asarray(columns[name], dtype=spare.dtype)
        self.columns = {name: spare[: length + added] for name, spare in self._spare.items()}
        self.changed()

    def delete(self, positions: np.ndarray) -> None:
        self.columns = {name: np.delete(column, positions) for name, column in self.columns.items()}
        self._spare, self._capacity = dict(self.columns), len(self.columns["id"])
        self.changed()

    def index(self, key: str) -> KeysetIndex:
        """The rows in (key, id) order, for ``id`` or ``dateLastModified``; built on demand."""
        if key not in self._indexes:
            if key == "id":
                positions = np.arange(len(self))
            else:  # a stable sort keeps ids ascending within equal keys
                positions = np.argsort(self.columns[key], kind="stable")
            self._indexes[key] = KeysetIndex(
                positions, self.columns[key][positions], self.ids[positions]
            )
        return self._indexes[key]
