"""The ATS behind one small interface: `Ats` (what the pipeline needs) and its Bullhorn
implementation, which also speaks to the sandbox ATS; only the connection differs."""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from aftercare.config import Config


def open_ats(config: Config) -> Ats:
    """The ATS of the ``aftercare_ats`` connection (the extract's, and dispatch's for call
    tasks)."""
    from airflow.sdk import BaseHook

    from aftercare.ats.bullhorn import BullhornAts, BullhornCredentials
    from aftercare.connections import ATS

    connection = BaseHook.get_connection(ATS)
    return BullhornAts(BullhornCredentials.from_connection(connection), config.ats)


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
    "open_ats",
]
