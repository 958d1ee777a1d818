"""A video platform's personalised shares (the video channel's links), and their views."""

from __future__ import annotations

from typing import Any

from aftercare.http import Transport
from aftercare.providers.base import Ambiguous, ProviderError, Unavailable


class VideoPlatform:
    """A video platform's personalised shares: ``POST /v1/shares`` -> ``{"id", "url"}``."""

    def __init__(self, transport: Transport, base_url: str, api_key: str) -> None:
        self.transport, self.base_url = transport, base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"}

    def share(
        self,
        video_id: str,
        reference: str,
        first_name: str,
        job_title: str,
        company: str,
        *,
        look_up_first: bool = False,
    ) -> str:
        """The URL of the touchpoint's (``reference``'s) personalised share. Creating a share is
        not idempotent at the platform, so the one share per touchpoint is kept by looking up:
        first, when an earlier try may have made it (``look_up_first``: a retried batch), and
        after a create whose answer was lost (a timeout after the platform accepted it)."""
        if look_up_first and (found := self.find_share(reference)):
            return found
        body = {
            "video_id": video_id,
            "reference": reference,
            "first_name": first_name,
            "job_title": job_title,
            "company": company,
        }
        try:
            response = self.transport.call(
                "POST", f"{self.base_url}/v1/shares", sends=True, json=body, headers=self.headers
            )
        except Ambiguous:
            if found := self.find_share(reference):
                return found
            # not made: the next try creates it (looking up first)
            raise Unavailable("video share: no answer, and none made") from None
        if response.status_code != 201:
            raise ProviderError("video share", response.status_code)
        return response.json()["url"]

    def find_share(self, reference: str) -> str | None:
        """The URL of the first share made for ``reference``, if any."""
        response = self.transport.call(
            "GET",
            f"{self.base_url}/v1/shares",
            sends=False,
            params={"reference": reference},
            headers=self.headers,
        )
        if response.status_code != 200:
            raise ProviderError("video share look-up", response.status_code)
        shares = response.json().get("data") or []
        return shares[0]["url"] if shares else None

    def views(self, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Views of personalised shares after a cursor (None: from the start): one page, and
        the cursor to ask next (None: nothing more for now)."""
        params: dict[str, Any] = {"limit": 1000, **({"after": after} if after else {})}
        response = self.transport.call(
            "GET", f"{self.base_url}/v1/views", sends=False, params=params, headers=self.headers
        )
        if response.status_code != 200:
            raise ProviderError("video views", response.status_code)
        body = response.json()
        return body.get("data") or [], body.get("next")
