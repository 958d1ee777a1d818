"""The candidates' preferences service (aftercare.preferences), as the warehouse reads it: its
feed of opt-outs and referral clicks, after a cursor, behind a bearer token."""

from __future__ import annotations

from typing import Any

from aftercare.http import Transport
from aftercare.providers.base import ProviderError


class PreferencesFeed:
    """``GET /feed?after=<seq>&limit=`` -> ``{"events": [...], "last": <seq>}``."""

    def __init__(self, transport: Transport, base_url: str, token: str) -> None:
        self.transport, self.base_url = transport, base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}

    def events(self, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The events after ``after`` in order (at most ``limit``), and the cursor to ask next."""
        response = self.transport.call(
            "GET",
            f"{self.base_url}/feed",
            sends=False,
            params={"after": after, "limit": limit},
            headers=self.headers,
        )
        if response.status_code != 200:
            raise ProviderError("Preferences feed", response.status_code)
        body = response.json()
        return body["events"], int(body["last"])
