"""Twilio Programmable Messaging (sms): send, list, find a text by recipient and body, and
delete one (erasure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from aftercare.http import Transport
from aftercare.providers.base import ProviderError, json_error


@dataclass(frozen=True)
class TwilioAccount:
    account_sid: str
    auth_token: str
    from_number: str | None = None
    messaging_service_sid: str | None = None


class Twilio:
    """Twilio Programmable Messaging (2010-04-01): create a message (201, ``sid``); find one by
    recipient, day and body (Twilio keeps no reference of ours)."""

    def __init__(self, transport: Transport, base_url: str, account: TwilioAccount) -> None:
        self.transport, self.account = transport, account
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account.account_sid}/Messages.json"
        self.auth = (account.account_sid, account.auth_token)

    def send(self, to: str, body: str) -> str:
        form = {"To": to, "Body": body}
        if self.account.messaging_service_sid:
            form["MessagingServiceSid"] = self.account.messaging_service_sid
        else:
            form["From"] = self.account.from_number or ""
        response = self.transport.call("POST", self.url, sends=True, data=form, auth=self.auth)
        if response.status_code != 201:
            raise ProviderError(
                "Twilio create message", response.status_code, json_error(response, "code")
            )
        return response.json()["sid"]

    def find(self, to: str, body_sha256: str, since: datetime, taken: frozenset[str]) -> str | None:
        """The sid of the first message we sent to ``to`` since ``since`` whose body hashes to
        ``body_sha256``, other than the ``taken`` ones (known to be other touchpoints'). By
        creation time (a queued message has no ``date_sent`` yet): the listing is newest first
        and stops at the first older one."""
        first = None
        for message in self.messages({"To": to}):
            if parsedate_to_datetime(message["date_created"]) < since:
                break
            body = (message.get("body") or "").encode()
            outbound = message.get("direction", "").startswith("outbound")
            mine = hashlib.sha256(body).hexdigest() == body_sha256
            if outbound and mine and message["sid"] not in taken:
                first = message["sid"]
        return first

    def delete(self, sid: str) -> bool:
        """Delete a message and its body from Twilio (``DELETE .../Messages/{Sid}.json``, 204);
        False when Twilio has no such message (404: deleted already)."""
        url = f"{self.url.removesuffix('.json')}/{sid}.json"
        response = self.transport.call("DELETE", url, sends=False, auth=self.auth)
        if response.status_code not in (204, 404):
            raise ProviderError(
                "Twilio delete message", response.status_code, json_error(response, "code")
            )
        return response.status_code == 204

    def messages(self, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every message matching Twilio's list filters (``To``, ``From``, ``DateSent>``, ...),
        page by page, newest first."""
        params: dict[str, Any] | None = {**filters, "PageSize": 1000}
        url: str | None = self.url
        # next_page_uri is relative to the API's root: api.twilio.com (or the sandbox's mount)
        root = self.url.split("/2010-04-01/")[0]
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.url))
        while url:
            response = self.transport.call("GET", url, sends=False, params=params, auth=self.auth)
            if response.status_code != 200:
                raise ProviderError(
                    "Twilio list messages", response.status_code, json_error(response, "code")
                )
            page = response.json()
            yield from page.get("messages", [])
            next_uri = page.get("next_page_uri")
            url = (
                (root if next_uri.startswith("/2010-04-01/") else origin) + next_uri
                if next_uri
                else None
            )
            params = None
