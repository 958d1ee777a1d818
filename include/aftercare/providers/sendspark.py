"""Sendspark's dynamic video campaigns (docs/sandbox-providers.md, "Sendspark"): a prospect added
to a campaign (one recording per milestone) is rendered into a personalised video,
asynchronously; its share link exists once the render is done (its webhook says so).

- auth: ``x-api-key`` (the workspace's key) and ``x-api-secret`` (a user's secret) headers, the
  workspace id in every path;
- ``POST /v1/workspaces/{ws}/dynamics/{campaign}/prospects/bulk`` ``{"prospectList": [...]}``
  (1 a minute), ``POST .../prospect`` ``{"prospect": {...}}`` and
  ``GET .../prospects/{contactEmail}`` (30 a minute, every endpoint together);
- a prospect is identified by its ``contactEmail``, unique within a campaign: it takes no
  reference of ours, so a request whose answer was lost is looked up by email before any resend.

`Pace` keeps the calls within those limits on a clock it is given (the system's, or the
sandbox's in the tests); a 429 that comes anyway is retried after its Retry-After by the
`Transport`. Each prospect carries its own ``webhookUrl``: the candidate-facing service's
``/webhooks/sendspark/{token}``, the token the touchpoint signed with the webhook secret
(`webhook_token`), since Sendspark documents no signature of its webhooks.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from aftercare.http import Transport
from aftercare.providers.base import Ambiguous, ProviderError, Unavailable

#: the events each prospect's webhook asks for (Sendspark's names)
WEBHOOK_EVENTS = (
    "video_generated_dv",
    "video_generated_error",
    "video_viewed",
    "video_watched",
    "video_cta_clicked",
)
_WEBHOOK_SALT = "aftercare.sendspark_webhook"


def webhook_token(secret: str, touchpoint_id: str, candidate_id: int) -> str:
    """The signed token of a touchpoint's webhook URL (ids only, never a name or address)."""
    return URLSafeSerializer(secret, salt=_WEBHOOK_SALT).dumps([touchpoint_id, candidate_id])


def verify_webhook_token(secret: str, token: str) -> tuple[str, int] | None:
    """The touchpoint id and candidate id a webhook token carries; None when forged or
    altered (checked in constant time by itsdangerous)."""
    try:
        touchpoint_id, candidate_id = URLSafeSerializer(secret, salt=_WEBHOOK_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return str(touchpoint_id), int(candidate_id)


class Pace:
    """At most ``per_minute`` calls in any 60 s of ``clock`` (seconds), waiting with ``sleep``
    when the window is full: Sendspark's limits, kept on the clock the tests can move."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute, self.clock, self.sleep = per_minute, clock, sleep
        self._calls: deque[float] = deque()

    def __call__(self) -> None:
        """Wait for a free place in the window, and take it."""
        now = self.clock()
        while self._calls and self._calls[0] <= now - 60:
            self._calls.popleft()
        if len(self._calls) >= self.per_minute:
            self.sleep(self._calls[0] + 60 - now)
            now = self.clock()
            self._calls.popleft()
        self._calls.append(now)


@dataclass(frozen=True)
class Prospect:
    """One touchpoint's personalisation, as Sendspark takes it."""

    touchpoint_id: str
    candidate_id: int
    contact_name: str
    contact_email: str
    company: str
    job_title: str

    def body(self, webhook_url: str) -> dict[str, Any]:
        return {
            "contactName": self.contact_name,
            "contactEmail": self.contact_email,
            "company": self.company,
            "jobTitle": self.job_title,
            "webhookUrl": webhook_url,
            "webhookEvents": list(WEBHOOK_EVENTS),
        }


@dataclass(frozen=True)
class Paces:
    """The two limits: every endpoint (``calls``) and the bulk endpoint (``bulk``)."""

    calls: Pace
    bulk: Pace


class Sendspark:
    """The client of one workspace; ``webhook_base`` is the candidate-facing service's URL and
    ``webhook_secret`` signs each prospect's webhook URL."""

    def __init__(
        self,
        transport: Transport,
        base_url: str,
        *,
        workspace: str,
        api_key: str,
        api_secret: str,
        webhook_base: str,
        webhook_secret: str,
        paces: Paces,
    ) -> None:
        self.transport, self.paces = transport, paces
        self.root = f"{base_url.rstrip('/')}/v1/workspaces/{quote(workspace, safe='')}/dynamics"
        self.headers = {"x-api-key": api_key, "x-api-secret": api_secret}
        self.webhook_base, self.webhook_secret = webhook_base.rstrip("/"), webhook_secret

    def _body(self, prospect: Prospect) -> dict[str, Any]:
        token = webhook_token(self.webhook_secret, prospect.touchpoint_id, prospect.candidate_id)
        return prospect.body(f"{self.webhook_base}/webhooks/sendspark/{token}")

    def _call(self, method: str, url: str, *, sends: bool, **kwargs: Any) -> Any:
        (self.paces.bulk if url.endswith("/prospects/bulk") else self.paces.calls)()
        return self.transport.call(method, url, sends=sends, headers=self.headers, **kwargs)

    def find(self, campaign: str, email: str) -> dict[str, Any] | None:
        """The campaign's prospect of ``email`` (``id``, ``status``, ``shareUrl`` once
        rendered), or None."""
        url = f"{self.root}/{quote(campaign, safe='')}/prospects/{quote(email, safe='')}"
        response = self._call("GET", url, sends=False)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ProviderError("Sendspark prospect look-up", response.status_code)
        return response.json()

    def add_prospect(self, campaign: str, prospect: Prospect) -> dict[str, Any]:
        """The campaign's prospect for ``prospect``: looked up first (an earlier request may
        have made it), else added; a lost answer is looked up again, so a retried request
        never makes a second prospect."""
        if found := self.find(campaign, prospect.contact_email):
            return found
        url = f"{self.root}/{quote(campaign, safe='')}/prospect"
        try:
            response = self._call("POST", url, sends=True, json={"prospect": self._body(prospect)})
        except Ambiguous:
            if found := self.find(campaign, prospect.contact_email):
                return found
            raise Unavailable("Sendspark add prospect: no answer, and none made") from None
        if response.status_code != 200:
            raise ProviderError("Sendspark add prospect", response.status_code)
        return self.find(campaign, prospect.contact_email) or {}

    def add_prospects(
        self, campaign: str, prospects: Sequence[Prospect]
    ) -> dict[str, dict[str, Any]]:
        """Add new prospects in one bulk request (1 a minute); the prospects the answer lists,
        by lower-cased email. Raises `Ambiguous` when the answer was lost: the caller looks
        each up before adding it again."""
        url = f"{self.root}/{quote(campaign, safe='')}/prospects/bulk"
        body = {"prospectList": [self._body(p) for p in prospects]}
        response = self._call("POST", url, sends=True, json=body)
        if response.status_code != 200:
            raise ProviderError("Sendspark bulk add", response.status_code)
        listed = response.json().get("prospectList") or []
        return {
            str(p["contactEmail"]).lower(): {**p, "id": p.get("id") or p.get("_id")}
            for p in listed
            if isinstance(p, dict) and p.get("contactEmail")
        }
