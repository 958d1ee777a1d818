"""The ATS behind one small interface: `Ats` (what the pipeline needs) and its Bullhorn
implementation, which also speaks to the sandbox ATS; only the connection differs
(`aftercare.connections.open_ats` opens the one the ``aftercare_ats`` connection names)."""

from __future__ import annotations

from aftercare.ats.base import (
    ORIGIN,
    Ats,
    AtsDataError,
    AtsError,
    Cursor,
    Entity,
    FieldMeta,
    Page,
    RecruiterTask,
)

__all__ = [
    "ORIGIN",
    "Ats",
    "AtsDataError",
    "AtsError",
    "Cursor",
    "Entity",
    "FieldMeta",
    "Page",
    "RecruiterTask",
]
