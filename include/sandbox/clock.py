"""The sandbox's one clock, shared by every service (docs/sandbox-providers.md, "Clock").

The ATS world lives a day at a time (its ``now`` is always a UTC midnight); this clock adds a time
of day on top of it. Setting the clock forward into a later day lets the ATS world live each day
in between (its own ``advance``), then sets the time of day. Advancing the ATS directly
(``/sandbox/ats/clock/advance``) lands on the new day's midnight. The clock never moves back and
does not tick with real time: it moves only when asked, so runs replay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from sandbox.ats.generator import DAY_MS
from sandbox.ats.world import World

ADMIN_PREFIX = "/sandbox/clock"


def iso(ms: int) -> str:
    """``2026-11-23T09:30:00.000Z`` for epoch milliseconds."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def rfc2822(ms: int) -> str:
    """``Mon, 23 Nov 2026 09:30:00 +0000`` (Twilio's date format) for epoch milliseconds."""
    return format_datetime(datetime.fromtimestamp(ms // 1000, UTC))


class SandboxClock:
    """The time of day on top of the ATS world's day."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._day = world.now
        self._time_of_day = 0

    def now(self) -> int:
        """Epoch milliseconds. A time of day set on an earlier day no longer counts once the
        ATS world has advanced past it (it then stands at the new day's midnight)."""
        return self.world.now + (self._time_of_day if self._day == self.world.now else 0)

    def set(self, at_ms: int) -> dict[str, Any]:
        """Move forward to ``at_ms``, living every ATS day in between; ValueError if earlier."""
        if at_ms < self.now():
            raise ValueError(f"the clock only moves forward; it is {iso(self.now())}")
        day = at_ms - at_ms % DAY_MS
        changes = self.world.advance((day - self.world.now) // DAY_MS)
        self._day, self._time_of_day = day, at_ms - day
        return {**self.reading(), "ats_changes": dict(sorted(changes.items()))}

    def reading(self) -> dict[str, Any]:
        now = self.now()
        return {"now": now, "iso": iso(now)}


def clock_of(request: Request) -> SandboxClock:
    return request.app.state.clock


admin = APIRouter(tags=["sandbox clock"])


@admin.get("")
async def read_clock(request: Request) -> dict[str, Any]:
    """What time it is in the sandbox: epoch ms and ISO 8601 UTC."""
    return clock_of(request).reading()


@admin.post("/set")
async def set_clock(request: Request, at: Annotated[str, Query()]) -> JSONResponse:
    """Move the clock forward to ``at`` (ISO 8601 with an offset, e.g. ``...T09:00:00Z``)."""
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return JSONResponse({"detail": f"'{at}' is not an ISO 8601 date-time"}, 422)
    if moment.tzinfo is None:
        return JSONResponse({"detail": "give the time zone, e.g. 'Z' for UTC"}, 422)
    try:
        return JSONResponse(clock_of(request).set(round(moment.timestamp() * 1000)))
    except ValueError as exc:
        return JSONResponse({"detail": str(exc)}, 409)


def install(app: FastAPI) -> None:
    """The clock over the app's ATS world, and its admin endpoints."""
    app.state.clock = SandboxClock(app.state.ats.world)
    app.include_router(admin, prefix=ADMIN_PREFIX)
