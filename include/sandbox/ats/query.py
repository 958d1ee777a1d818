"""Bullhorn's query language as the sandbox ATS understands it: ``fields`` selections,
``where`` (JPQL-like), Lucene ``query``, ``orderBy``/``sort``, evaluated column-wise on the tables.

Conditions use SQL's three-valued logic: a comparison with a null is neither true nor false, so
``NOT dateEnd > X`` leaves out rows without a dateEnd, as a database would. Queries ordered by
``id`` or by ``dateLastModified`` (ties by id) walk a keyset index from the bounds found in the
``where`` (``dateLastModified > X``, ``dateLastModified > X OR (dateLastModified = X AND id > Y)``,
``dateLastModified <= Z``, ``id > Y`` ...), so a page costs about its own size; anything else is a
vectorised scan. Fields are read as served (a corporation's shapes, store.Table.served), so a
filter sees what the API renders. Lucene dates are ``yyyyMMddHHmmss`` or ``yyyyMMdd`` (UTC) and
match at the second, as Bullhorn's index keeps them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

import numpy as np

from sandbox.ats.store import (
    INT_MAX,
    INT_NULL,
    Composite,
    KeysetIndex,
    Kind,
    Scalar,
    Schema,
    Table,
    ToOne,
    empty_column,
)

Tables = Mapping[str, Table]
Path = tuple[str, ...]
Value = int | float | str | bool


class QueryError(ValueError):
    """A request the ATS refuses with 400: bad syntax, an unknown field, a mistyped value."""


# ------------------------------------------------------------------------------------------------
# fields


@dataclass(frozen=True)
class Selected:
    """A field to serve and, for associations and addresses, the sub-fields to serve."""

    name: str
    spec: Scalar | ToOne | Composite
    children: tuple[Selected, ...] = ()


_FIELD_TOKEN = re.compile(r"\s*(?:([A-Za-z_]\w*|\*)|([(),]))")


def _tokens(pattern: re.Pattern[str], text: str, what: str) -> list[tuple[int, str]]:
    """(group number, text) of each token, or a QueryError naming the first bad character."""
    tokens, at = [], 0
    while at < len(text.rstrip()):
        match = pattern.match(text, at)
        if match is None or match.lastindex is None:
            raise QueryError(f"Invalid {what}: unexpected {text[at:].strip()[:20]!r}")
        tokens.append((match.lastindex, match.group(match.lastindex)))
        at = match.end()
    return tokens


def parse_fields(text: str) -> list[tuple[str, Any]]:
    """``id,candidate(id,firstName)`` -> ``[("id", None), ("candidate", [("id", None), ...])]``."""
    tokens = [token for _, token in _tokens(_FIELD_TOKEN, text, "fields")] + [""]
    at = 0

    def items() -> list[tuple[str, Any]]:
        nonlocal at
        parsed = []
        while True:
            name = tokens[at]
            if not (name == "*" or re.fullmatch(r"[A-Za-z_]\w*", name)):
                raise QueryError(f"Invalid fields: expected a field name, got {name!r}")
            at += 1
            children = None
            if tokens[at] == "(":
                at += 1
                children = items()
                if tokens[at] != ")":
                    raise QueryError("Invalid fields: unbalanced parentheses")
                at += 1
            parsed.append((name, children))
            if tokens[at] != ",":
                return parsed
            at += 1

    parsed = items()
    if tokens[at] != "":
        raise QueryError(f"Invalid fields: unexpected {tokens[at]!r}")
    return parsed


def select_fields(tables: Tables, entity: str, text: str) -> tuple[Selected, ...]:
    """The parsed ``fields`` bound to the entity's schema; ``*`` is every field."""
    if not text.strip():
        raise QueryError("Missing required parameter 'fields'")
    return _bind(tables, tables[entity].schema, None, parse_fields(text), "")


def all_fields(tables: Tables, entity: str) -> tuple[Selected, ...]:
    """Every field with every sub-field (the sandbox's ground truth)."""
    return _bind(tables, tables[entity].schema, None, _EVERY, "")


#: ``*``: every field, with every sub-field
_EVERY: list[tuple[str, Any]] = [("*", None)]


def _bind(
    tables: Tables,
    schema: Schema,
    allowed: tuple[str, ...] | None,
    items: list[tuple[str, Any]] | None,
    prefix: str,
) -> tuple[Selected, ...]:
    names = allowed if allowed is not None else tuple(schema)
    bound: dict[str, Selected] = {}
    for name, children in items or []:
        if name == "*":
            for each in names:
                bound.setdefault(each, _bind_one(tables, schema, each, _EVERY, prefix))
        elif name not in names:
            raise QueryError(f"Invalid field '{prefix}{name}'")
        else:
            bound.setdefault(name, _bind_one(tables, schema, name, children, prefix))
    return tuple(bound.values())


def _bind_one(
    tables: Tables, schema: Schema, name: str, children: list | None, prefix: str
) -> Selected:
    spec = schema[name]
    label = f"{prefix}{name}."
    if isinstance(spec, Scalar):
        if children and children is not _EVERY:
            raise QueryError(f"Invalid field '{prefix}{name}': it has no sub-fields")
        return Selected(name, spec)
    if isinstance(spec, Composite):
        parts = tuple(spec.parts)
        return Selected(name, spec, _bind(tables, spec.parts, parts, children or _EVERY, label))
    target = tables[spec.target].schema
    wanted = children if children else [(field, None) for field in spec.default]
    return Selected(name, spec, _bind(tables, target, spec.fields, wanted, label))


# ------------------------------------------------------------------------------------------------
# rendering


def _python(values: np.ndarray, kind: Kind) -> list[Any]:
    listed = values.tolist()
    if kind in ("int", "date") and (values == INT_NULL).any():
        return [None if value == INT_NULL else value for value in listed]
    return listed


def render(
    tables: Tables, table: Table, positions: np.ndarray, selection: tuple[Selected, ...]
) -> list[dict[str, Any]]:
    """The rows at ``positions`` as JSON-ready dicts of the selected fields."""
    columns = [_render_field(tables, table, positions, each) for each in selection]
    names = [each.name for each in selection]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _render_field(
    tables: Tables, table: Table, positions: np.ndarray, selected: Selected
) -> list[Any]:
    spec, name = selected.spec, selected.name
    if isinstance(spec, Scalar):
        values = _python(table.served(name, positions), spec.kind)
        return [None if v is None else [v] for v in values] if name in table.listed else values
    if isinstance(spec, Composite):
        parts = [
            _python(table.served(f"{name}.{part.name}", positions), part.spec.kind)
            for part in selected.children
        ]
        labels = [part.name for part in selected.children]
        return [dict(zip(labels, row, strict=True)) for row in zip(*parts, strict=True)]
    ids = table.columns[name][positions]
    target = tables[spec.target]
    found = target.positions(ids)
    rows = iter(render(tables, target, found[found >= 0], selected.children))
    names = [child.name for child in selected.children]
    served = [
        None
        if ref == INT_NULL
        else next(rows)
        if at >= 0
        else {name: ref if name == "id" else None for name in names}  # a dangling reference
        for ref, at in zip(ids.tolist(), found.tolist(), strict=True)
    ]
    if spec.subtypes:
        for row, subtype in zip(served, _subtypes(tables, spec.subtypes, ids), strict=True):
            if row is not None:
                row["_subtype"] = subtype
    return served


def _subtypes(tables: Tables, subtypes: tuple[str, ...], ids: np.ndarray) -> list[str]:
    """The subtype of each person id: the entity that holds it (the first subtype otherwise)."""
    found = np.full(len(ids), subtypes[0], dtype=object)
    for subtype in subtypes[1:]:
        found[tables[subtype].positions(ids) >= 0] = subtype
    return found.tolist()


# ------------------------------------------------------------------------------------------------
# field paths (where, orderBy, lucene)


def resolve(
    tables: Tables, table: Table, positions: np.ndarray, path: Path
) -> tuple[np.ndarray, np.ndarray, Kind]:
    """The values of a (dotted) field at ``positions``, their null mask and their kind."""
    return _resolve(tables, table, positions, path, ".".join(path))


def _resolve(
    tables: Tables, table: Table, positions: np.ndarray, path: Path, label: str
) -> tuple[np.ndarray, np.ndarray, Kind]:
    head, rest = path[0], path[1:]
    spec = table.schema.get(head)
    if isinstance(spec, Composite) and len(rest) == 1 and rest[0] in spec.parts:
        spec, head, rest = spec.parts[rest[0]], f"{head}.{rest[0]}", ()
    if isinstance(spec, Scalar) and not rest:
        values = table.served(head, positions)
        return values, _nulls(values, spec.kind), spec.kind
    if not isinstance(spec, ToOne) or not rest or rest[0] not in spec.fields:
        raise QueryError(f"Invalid field '{label}'")
    ids = table.columns[head][positions]
    if rest == ("id",):
        return ids, ids == INT_NULL, "int"
    target = tables[spec.target]
    found = target.positions(ids)
    hit = found >= 0
    values, nulls, kind = _resolve(tables, target, found[hit], rest, label)
    joined, joined_nulls = empty_column(kind, len(ids)), ~hit
    joined[hit], joined_nulls[hit] = values, nulls
    return joined, joined_nulls, kind


def _nulls(values: np.ndarray, kind: Kind) -> np.ndarray:
    if kind == "str":
        return np.equal(values, None)
    if kind == "bool":
        return np.zeros(len(values), dtype=bool)
    return values == INT_NULL


def check_path(tables: Tables, entity: str, path: Path) -> Kind:
    """The kind of a field path, or a QueryError if the entity has no such field."""
    return resolve(tables, tables[entity], np.empty(0, dtype=np.int64), path)[2]


# ------------------------------------------------------------------------------------------------
# conditions


@dataclass(frozen=True)
class Compare:
    path: Path
    op: str
    value: Value


@dataclass(frozen=True)
class IsNull:
    path: Path
    negated: bool


@dataclass(frozen=True)
class In:
    path: Path
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Match:
    """Lucene ``field:text``: substring (any case) on strings, equality on numbers/booleans."""

    path: Path
    text: str


@dataclass(frozen=True)
class Range:
    """Lucene ``field:[low TO high]`` (inclusive) or ``{low TO high}`` (exclusive; either end
    may be either); None is open (``*``)."""

    path: Path
    low: str | None
    high: str | None
    low_inclusive: bool
    high_inclusive: bool


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Compare | IsNull | In | Match | Range | And | Or | Not

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _typed(kind: Kind, value: Value, label: str) -> Value:
    fits = {
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int | float) and not isinstance(value, bool),
        "date": isinstance(value, int | float) and not isinstance(value, bool),
    }[kind]
    if not fits:
        raise QueryError(f"Invalid value {value!r} for field '{label}' ({kind})")
    return value


_LUCENE_DATE = {8: "%Y%m%d", 14: "%Y%m%d%H%M%S"}


def _lucene_value(kind: Kind, text: str, label: str) -> Value:
    """A Lucene term as a value of ``kind``; a date as the second it names (epoch seconds)."""
    try:
        if kind == "bool":
            return {"true": True, "1": True, "false": False, "0": False}[text.lower()]
        if kind == "date":
            moment = datetime.strptime(text, _LUCENE_DATE[len(text)]).replace(tzinfo=UTC)
            return int(moment.timestamp())
        return text if kind == "str" else int(text)
    except (KeyError, ValueError):
        form = "date: yyyyMMddHHmmss or yyyyMMdd, UTC" if kind == "date" else kind
        raise QueryError(f"Invalid value {text!r} for field '{label}' ({form})") from None


def evaluate(
    tables: Tables, table: Table, positions: np.ndarray, node: Node
) -> tuple[np.ndarray, np.ndarray]:
    """(true, false) masks of the condition over ``positions``; rows in neither are unknown."""
    if isinstance(node, And | Or):
        masks = [evaluate(tables, table, positions, item) for item in node.items]
        trues, falses = np.array([t for t, _ in masks]), np.array([f for _, f in masks])
        if isinstance(node, And):
            return trues.all(axis=0), falses.any(axis=0)
        return trues.any(axis=0), falses.all(axis=0)
    if isinstance(node, Not):
        true, false = evaluate(tables, table, positions, node.item)
        return false, true
    values, nulls, kind = resolve(tables, table, positions, node.path)
    label = ".".join(node.path)
    if isinstance(node, IsNull):
        return (~nulls, nulls) if node.negated else (nulls, ~nulls)
    known = ~nulls
    present = values[known]
    hit = np.zeros(len(values), dtype=bool)
    if isinstance(node, Compare):
        if kind == "bool" and node.op not in ("=", "<>", "!="):
            raise QueryError(f"Invalid operator {node.op} for field '{label}'")
        hit[known] = np.asarray(_OPS[node.op](present, _typed(kind, node.value, label)), dtype=bool)
    elif isinstance(node, In):
        wanted = [_typed(kind, value, label) for value in node.values]
        hit[known] = np.isin(present, wanted)
        if node.negated:
            hit[known] = ~hit[known]
    else:  # Lucene, where dates match at the second
        in_index = present // 1000 if kind == "date" else present
        hit[known] = _lucene_hit(node, in_index, kind, label)
    return hit, known & ~hit


def _lucene_hit(node: Match | Range, present: np.ndarray, kind: Kind, label: str) -> np.ndarray:
    """Which of the (non-null) values a Lucene term or range matches."""
    if isinstance(node, Match):
        value = _lucene_value(kind, node.text, label)
        if kind == "str":
            needle = str(value).lower()
            return np.fromiter((needle in v.lower() for v in present), bool, len(present))
        return np.asarray(present == value, dtype=bool)
    hit = np.ones(len(present), dtype=bool)
    if node.low is not None:
        above = operator.ge if node.low_inclusive else operator.gt
        hit &= np.asarray(above(present, _lucene_value(kind, node.low, label)), dtype=bool)
    if node.high is not None:
        below = operator.le if node.high_inclusive else operator.lt
        hit &= np.asarray(below(present, _lucene_value(kind, node.high, label)), dtype=bool)
    return hit


class _Parser:
    """Recursive descent over a token list; ``or -> and (OR and)*``, ``and -> unary (AND
    unary)*``, ``unary -> NOT unary | ( or ) | term``; subclasses say what a term is."""

    what = "query"
    keywords: frozenset[str] = frozenset()

    def __init__(self, tokens: list[tuple[int, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str:
        """The next token's text ("" at the end)."""
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def kind(self) -> int:
        """The next token's kind: the number of its group in the token pattern (0 at the end)."""
        return self.tokens[self.at][0] if self.at < len(self.tokens) else 0

    def keyword(self, word: str) -> bool:
        """Consume ``word`` (a keyword) if it comes next."""
        if self.at < len(self.tokens) and self.normal(self.peek()) == word:
            self.at += 1
            return True
        return False

    def normal(self, text: str) -> str:
        return text

    def expect(self, text: str) -> None:
        if self.peek() != text:
            self.fail(f"expected {text!r}")
        self.at += 1

    def fail(self, message: str) -> NoReturn:
        got = self.peek() or "the end"
        raise QueryError(f"Invalid {self.what}: {message} at {got!r} (token {self.at + 1})")

    def parse(self) -> Node:
        node = self.disjunction()
        if self.at < len(self.tokens):
            self.fail("unexpected token")
        return node

    def disjunction(self) -> Node:
        items = [self.conjunction()]
        while self.keyword("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Node:
        items = [self.unary()]
        while self.keyword("AND"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        if self.keyword("NOT"):
            return Not(self.unary())
        if self.peek() == "(":
            self.at += 1
            node = self.disjunction()
            self.expect(")")
            return node
        return self.term()

    def term(self) -> Node:
        raise NotImplementedError

    def path(self) -> Path:
        text = self.peek()
        shaped = re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", text) is not None
        if not shaped or self.normal(text) in self.keywords:
            self.fail("expected a field name")
        self.at += 1
        return tuple(text.split("."))


_WHERE_TOKEN = re.compile(
    r"""\s*(?:
      (-?\d+(?:\.\d+)?)(?![\w.])          # _NUMBER
    | ('(?:[^']|'')*')                     # _STRING
    | (<>|!=|<=|>=|=|<|>)                  # _COMPARISON
    | ([(),])                              # 4 punctuation
    | ([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)    # 5 word: keyword or field path
    )""",
    re.X,
)
_NUMBER, _STRING, _COMPARISON = 1, 2, 3


class _WhereParser(_Parser):
    what = "where clause"
    keywords = frozenset({"AND", "OR", "NOT", "IS", "NULL", "IN", "TRUE", "FALSE"})

    def normal(self, text: str) -> str:
        return text.upper()

    def term(self) -> Node:
        path = self.path()
        if self.keyword("IS"):
            negated = self.keyword("NOT")
            if not self.keyword("NULL"):
                self.fail("expected NULL")
            return IsNull(path, negated)
        negated = self.keyword("NOT")
        if self.keyword("IN"):
            self.expect("(")
            values = [self.value()]
            while self.peek() == ",":
                self.at += 1
                values.append(self.value())
            self.expect(")")
            return In(path, tuple(values), negated)
        if negated or self.kind() != _COMPARISON:
            self.fail("expected a comparison, IS [NOT] NULL or [NOT] IN")
        op = self.peek()
        self.at += 1
        return Compare(path, op, self.value())

    def value(self) -> Value:
        kind, text = self.kind(), self.peek()
        if kind == _NUMBER:
            value: Value = float(text) if "." in text else int(text)
        elif kind == _STRING:
            value = text[1:-1].replace("''", "'")
        elif text.upper() in ("TRUE", "FALSE"):
            value = text.upper() == "TRUE"
        else:
            self.fail("expected a number, a 'string', true or false")
        self.at += 1
        return value


def parse_where(text: str) -> Node:
    """Parse a ``where`` clause (grammar in docs/sandbox-ats.md)."""
    if not text.strip():
        raise QueryError("Missing required parameter 'where'")
    return _WhereParser(_tokens(_WHERE_TOKEN, text, "where clause")).parse()


_LUCENE_TOKEN = re.compile(
    r"""\s*(?:
      ("(?:[^"\\]|\\.)*")      # _PHRASE
    | ([()\[\]{}:])            # punctuation
    | ([^\s()\[\]{}":]+)       # _WORD
    )""",
    re.X,
)
_PHRASE, _WORD = 1, 3


class _LuceneParser(_Parser):
    what = "search query"
    keywords = frozenset({"AND", "OR", "NOT", "TO"})

    def term(self) -> Node:
        path = self.path()
        self.expect(":")
        if self.peek() in ("[", "{"):
            low_inclusive = self.peek() == "["
            self.at += 1
            low = self.word()
            if not self.keyword("TO"):
                self.fail("expected TO")
            high = self.word()
            if self.peek() not in ("]", "}"):
                self.fail("expected ']' or '}'")
            high_inclusive = self.peek() == "]"
            self.at += 1
            return Range(
                path,
                None if low == "*" else low,
                None if high == "*" else high,
                low_inclusive,
                high_inclusive,
            )
        if self.kind() == _PHRASE:
            phrase = re.sub(r"\\(.)", r"\1", self.peek()[1:-1])
            self.at += 1
            return Match(path, phrase)
        return Match(path, self.word())

    def word(self) -> str:
        if self.kind() != _WORD:
            self.fail("expected a value")
        self.at += 1
        return self.tokens[self.at - 1][1]


def parse_lucene(text: str) -> Node:
    """Parse a Lucene ``query`` (the subset in docs/sandbox-ats.md)."""
    if not text.strip():
        raise QueryError("Missing required parameter 'query'")
    return _LuceneParser(_tokens(_LUCENE_TOKEN, text, "search query")).parse()


# ------------------------------------------------------------------------------------------------
# ordering and selection

Order = tuple[tuple[Path, bool], ...]  # (field path, descending)


def parse_order(tables: Tables, entity: str, text: str) -> Order:
    """``-dateBegin,candidate.lastName`` -> ``((("dateBegin",), True), ...)``."""
    order = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        descending = item.startswith("-")
        path = tuple(item.lstrip("+-").strip().split("."))
        check_path(tables, entity, path)
        order.append((path, descending))
    return tuple(order)


def _sort_key(values: np.ndarray, nulls: np.ndarray, kind: Kind, descending: bool) -> np.ndarray:
    """An int64 key ordering like the values, nulls first (last when descending)."""
    if kind == "str":
        texts = np.where(nulls, "", values).astype(str)
        key = np.unique(texts, return_inverse=True)[1].astype(np.int64)
        key[nulls] = -1
    else:
        key = values.astype(np.int64)
    return ~key if descending else key  # ~ reverses the order without overflow


def _ordered(tables: Tables, table: Table, positions: np.ndarray, order: Order) -> np.ndarray:
    keys = [table.ids[positions]]  # least significant: ties by id
    for path, descending in reversed(order):
        values, nulls, kind = resolve(tables, table, positions, path)
        keys.append(_sort_key(values, nulls, kind, descending))
    return positions[np.lexsort(keys)]


def _index_key(order: Order) -> str | None:
    """``id`` or ``dateLastModified`` when the order is that index's (key, id) order."""
    plain = []
    for path, descending in order:
        if path == ("id",):
            if descending:
                return None
            break
        plain.append((path, descending))
    if not plain:
        return "id"
    return "dateLastModified" if plain == [(("dateLastModified",), False)] else None


def _conjuncts(node: Node | None) -> Iterator[Node]:
    if isinstance(node, And):
        for item in node.items:
            yield from _conjuncts(item)
    elif node is not None:
        yield node


def _comparison(node: Node, path: Path) -> tuple[str, int] | None:
    """(op, value) of ``path <op> <integer>``, else None."""
    if (
        isinstance(node, Compare)
        and node.path == path
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    ):
        return node.op, node.value
    return None


def _keyset_after(node: Node, key: str) -> tuple[int, int] | None:
    """``key > X OR (key = X AND id > Y)`` (either way round) -> (X, Y)."""
    if not (isinstance(node, Or) and len(node.items) == 2) or key == "id":
        return None
    for strict, tie in (node.items, node.items[::-1]):
        after = _comparison(strict, (key,))
        if after is None or after[0] != ">" or not (isinstance(tie, And) and len(tie.items) == 2):
            continue
        for equal, beyond in (tie.items, tie.items[::-1]):
            last = _comparison(beyond, ("id",))
            if _comparison(equal, (key,)) == ("=", after[1]) and last and last[0] == ">":
                return after[1], last[1]
    return None


#: For ``key <op> value``: the id that, paired with the value, bounds the rows from below
#: (rows after (value, id)) or from above (rows up to (value, id)).
_LOWER = {">": INT_MAX, ">=": INT_NULL, "=": INT_NULL}
_UPPER = {"<": INT_NULL, "<=": INT_MAX, "=": INT_MAX}


def _bounds(node: Node | None, index: KeysetIndex, key: str) -> tuple[int, int]:
    """The slice of ``index`` outside of which ``node`` cannot hold (by its top-level ANDs)."""
    low, high = (INT_NULL, INT_NULL), (INT_MAX, INT_MAX)
    for item in _conjuncts(node):
        keyset = _keyset_after(item, key)
        if keyset is not None:
            low = max(low, keyset)
        op, value = _comparison(item, (key,)) or ("", 0)
        if op in _LOWER:
            low = max(low, (value, _LOWER[op]))
        if op in _UPPER:
            high = min(high, (value, _UPPER[op]))
    start = index.rank(*low)
    return start, max(start, index.rank(*high))


def select(
    tables: Tables,
    entity: str,
    node: Node | None,
    order: Order,
    start: int,
    count: int,
    with_total: bool,
) -> tuple[np.ndarray, int | None]:
    """Positions of the page ``[start, start + count)`` of the matching rows in order, and the
    number of matching rows when ``with_total``."""
    table = tables[entity]
    if node is not None:  # unknown fields and mistyped values fail even when no row is looked at
        evaluate(tables, table, np.empty(0, dtype=np.int64), node)
    key = _index_key(order)
    index = table.index(key or "dateLastModified")
    first, stop = _bounds(node, index, key or "dateLastModified")
    if key is not None and not with_total:  # walk the index until the page is full
        wanted, found, size = start + count, [], max(2 * (start + count), 256)
        while first < stop and sum(map(len, found)) < wanted:
            rows = index.positions[first : first + size]
            found.append(rows[evaluate(tables, table, rows, node)[0]] if node else rows)
            first, size = first + size, size * 2
        matches = np.concatenate(found) if found else np.empty(0, dtype=np.int64)
        return matches[start:wanted], None
    rows = index.positions[first:stop]
    matches = rows[evaluate(tables, table, rows, node)[0]] if node else rows
    if key is None:
        matches = _ordered(tables, table, matches, order)
    return matches[start : start + count], len(matches)
