"""The ATS behind one small interface: `Ats` (what the pipeline needs) and its Bullhorn
implementation, which also speaks to the sandbox ATS; only the connection differs."""

from aftercare.ats.base import (
    ORIGIN,
    Ats,
    AtsDataError,
    AtsError,
    Cursor,
    Entity,
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
    "Page",
    "RecruiterTask",
]
