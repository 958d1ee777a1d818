"""The one clock dispatch asks whether a send time has come.

Production asks the system clock. With the Airflow connection ``aftercare_clock`` set (the demo
and the tests point it at the sandbox's ``/sandbox/clock``), the clock is that service's, so a
demo lives through days in minutes and a test can stand at 09:59 and at 10:01. Nothing else
differs between the two; `aftercare.connections.clock` picks one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import requests


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class HttpClock:
    """A clock served over HTTP: ``GET <url>`` answers ``{"now": <epoch milliseconds>}``."""

    def __init__(self, url: str, timeout: float = 10) -> None:
        self.url, self.timeout = url, timeout

    def now(self) -> datetime:
        response = requests.get(self.url, timeout=self.timeout)
        response.raise_for_status()
        return datetime.fromtimestamp(response.json()["now"] / 1000, UTC)
