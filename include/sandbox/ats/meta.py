"""Bullhorn's meta call (``GET meta/{entity}?fields=...&meta=basic|full``) over the sandbox's
schemas: each field's name, type (``ID``, ``SCALAR``, ``TO_ONE``, ``COMPOSITE``), data type and
label; with ``full`` also whether it is optional or multi-valued, and a picklist's options (the
corporation's labels) or an options type's default (an address's country)."""

from __future__ import annotations

import re
from typing import Any

from sandbox.ats.countries import UNITED_STATES
from sandbox.ats.query import Selected, Tables
from sandbox.ats.store import REQUIRED, Composite, Scalar, ToOne

DATA_TYPES = {"int": "Integer", "date": "Timestamp", "bool": "Boolean", "str": "String"}
#: Labels that are not the field name in words.
LABELS = {"id": "ID", "countryID": "Country", "timeZoneOffsetEST": "Time Zone Offset EST"}
#: Fields whose values come from an options type: the type and the default value.
OPTIONS_TYPES = {"countryID": ("Country", UNITED_STATES)}


def label(name: str) -> str:
    """A field's label: its name in words (``dateBegin`` -> ``Date Begin``)."""
    if name in LABELS:
        return LABELS[name]
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return words[0].upper() + words[1:]


def describe(
    tables: Tables,
    entity: str,
    fields: str,
    selection: tuple[Selected, ...],
    picklists: dict[str, dict[str, list[str]]],
    rest_url: str,
    full: bool,
) -> dict[str, Any]:
    """The meta of the selected fields of an entity."""
    describer = _Describer(tables, picklists, rest_url, full)
    return {
        "entity": entity,
        "entityMetaUrl": f"{rest_url}meta/{entity}?fields={fields}",
        "label": label(entity),
        "fields": [describer.field(entity, each) for each in selection],
    }


class _Describer:
    def __init__(
        self,
        tables: Tables,
        picklists: dict[str, dict[str, list[str]]],
        rest_url: str,
        full: bool,
    ) -> None:
        self.tables, self.picklists, self.rest_url, self.full = tables, picklists, rest_url, full

    def field(self, entity: str, selected: Selected) -> dict[str, Any]:
        name, spec = selected.name, selected.spec
        described: dict[str, Any] = {"name": name}
        if isinstance(spec, Scalar):
            described |= {
                "type": "ID" if name == "id" else "SCALAR",
                "dataType": DATA_TYPES[spec.kind],
                "label": label(name),
            }
        elif isinstance(spec, Composite):
            described |= {"type": "COMPOSITE", "dataType": "Address", "label": label(name)}
            described["fields"] = [self.part(entity, part) for part in selected.children]
        else:
            described |= {"type": "TO_ONE", "label": label(name)}
            described["associatedEntity"] = self.associated(spec, selected.children)
        if self.full:
            described["optional"] = name not in REQUIRED.get(entity, ())
            described["multiValue"] = name in self.tables[entity].listed
            options = self.picklists.get(entity, {}).get(name)
            if options:
                described["inputType"] = "SELECT"
                described["options"] = [{"value": each, "label": each} for each in options]
        return described

    def part(self, entity: str, part: Selected) -> dict[str, Any]:
        described = self.field(entity, part)
        if part.name in OPTIONS_TYPES:
            kind, default = OPTIONS_TYPES[part.name]
            described |= {"optionsType": kind, "optionsUrl": f"{self.rest_url}options/{kind}"}
            if self.full:
                described |= {"inputType": "SELECT", "defaultValue": default}
        return described

    def associated(self, spec: ToOne, children: tuple[Selected, ...]) -> dict[str, Any]:
        target = "Person" if spec.subtypes else spec.target
        return {
            "entity": target,
            "label": label(target),
            "fields": [self.field(spec.target, child) for child in children],
        }
