"""A Trustpilot-style review platform: invitation links (the review links), and the reviews."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import requests

from aftercare.http import Transport
from aftercare.providers.base import ProviderError, iso


class ReviewPlatform:
    """A Trustpilot-style review platform: OAuth client credentials, then invitation links
    (``POST .../business-units/{id}/invitation-links`` -> ``{"id", "url"}``) carrying our
    touchpoint id as reference, so the review can be attributed."""

    def __init__(
        self,
        transport: Transport,
        *,
        api_url: str,
        invitations_url: str,
        key: str,
        secret: str,
        business_unit_id: str,
    ) -> None:
        self.transport = transport
        self.api_url, self.invitations_url = api_url.rstrip("/"), invitations_url.rstrip("/")
        self.business_unit_id = business_unit_id
        self._basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _bearer(self) -> str:
        with self._lock:
            if self._token is None or self._token[1] < time.monotonic():
                response = self.transport.call(
                    "POST",
                    f"{self.api_url}/v1/oauth/oauth-business-users-for-applications/accesstoken",
                    sends=False,
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {self._basic}"},
                )
                if response.status_code != 200:
                    raise ProviderError("review platform token", response.status_code)
                token = response.json()
                lifetime = float(token.get("expires_in") or 3600)
                self._token = (token["access_token"], time.monotonic() + lifetime * 0.9)
            return self._token[0]

    def _authorized(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """A call with the access token, retried like a look-up (``sends=False``)."""
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        return self.transport.call(method, url, sends=False, headers=headers, **kwargs)

    def reviews(self, since: datetime) -> Iterator[dict[str, Any]]:
        """The business unit's reviews created from ``since`` on, oldest first, page by page."""
        url: str | None = (
            f"{self.api_url}/v1/private/business-units/{self.business_unit_id}/reviews"
        )
        params: dict[str, Any] | None = {"perPage": 100, "page": 1, "startDateTime": iso(since)}
        while url:
            response = self._authorized("GET", url, params=params)
            if response.status_code != 200:
                raise ProviderError("review platform reviews", response.status_code)
            body = response.json()
            yield from body.get("reviews") or []
            following = [link for link in body.get("links") or [] if link.get("rel") == "next-page"]
            url, params = (following[0]["href"], None) if following else (None, None)

    def invitation_link(self, reference: str, email: str | None, name: str, locale: str) -> str:
        body = {"referenceId": reference, "name": name, "locale": locale, "tags": ["aftercare"]}
        if email:
            body["email"] = email
        unit = f"{self.invitations_url}/v1/private/business-units/{self.business_unit_id}"
        url = f"{unit}/invitation-links"
        response = self._authorized("POST", url, json=body)
        if response.status_code != 200:
            raise ProviderError("review invitation link", response.status_code)
        return response.json()["url"]
