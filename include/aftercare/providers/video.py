"""Our own personalised video pages (the video channel's default): each video touchpoint's
page registered at the candidates' preferences service (`aftercare.preferences`), which serves
it behind a signed link and records what the candidate watched; and the pages' erasure and
retention, asked of the service (`aftercare.privacy`)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aftercare.http import Transport
from aftercare.providers.base import ProviderError, VideoPage


class OwnVideoPages:
    """``PUT /videos/{touchpoint_id}`` (the feed token as bearer) -> 201 (new) or 200 (the
    same page again) ``{"url"}``. A PUT is idempotent: the transport retries it whatever
    became of an earlier try (a lost answer included), and every try is the same page."""

    def __init__(self, transport: Transport, base_url: str, token: str) -> None:
        self.transport, self.base_url = transport, base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}

    def publish(self, page: VideoPage) -> str:
        body = dataclasses.asdict(page)
        touchpoint_id = body.pop("touchpoint_id")
        response = self.transport.call(
            "PUT",
            f"{self.base_url}/videos/{quote(touchpoint_id, safe='')}",
            sends=False,
            json=body,
            headers=self.headers,
        )
        if response.status_code not in (200, 201):
            raise ProviderError("video page", response.status_code)
        return response.json()["url"]

    def forget(self, candidate_ids: list[int]) -> int:
        """Erasure: the candidates' pages deleted at the service; how many."""
        return self._post("/videos/forget", {"candidate_ids": candidate_ids})

    def retain(self, before: datetime) -> int:
        """Retention: the pages registered before ``before`` deleted; how many."""
        return self._post("/videos/retain", {"before": before.isoformat()})

    def _post(self, path: str, body: dict[str, Any]) -> int:
        response = self.transport.call(
            "POST", f"{self.base_url}{path}", sends=False, json=body, headers=self.headers
        )
        if response.status_code != 200:
            raise ProviderError(f"video pages {path}", response.status_code)
        return int(response.json()["forgotten"])
