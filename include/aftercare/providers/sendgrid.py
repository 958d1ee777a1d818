"""SendGrid v3 (email): send, find what was sent through the Email Activity API, and erase
recipients' data (erasure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aftercare.http import Transport
from aftercare.providers.base import Email, ProviderError, Sender, iso

#: addresses per erase job: SendGrid takes up to 5,000 (or 256 KB) a request
ERASE_BATCH = 5000


class SendGrid:
    """SendGrid v3: ``POST /v3/mail/send`` (202, ``X-Message-Id``), and the Email Activity
    API to find a message by our touchpoint id (custom args are its unique args)."""

    def __init__(self, transport: Transport, base_url: str, api_key: str, sender: Sender) -> None:
        self.transport, self.base_url, self.sender = transport, base_url.rstrip("/"), sender
        self.headers = {"Authorization": f"Bearer {api_key}"}

    def send(self, email: Email) -> str:
        body = {
            "personalizations": [
                {
                    "to": [{"email": email.to, "name": email.to_name}],
                    "custom_args": {"touchpoint_id": email.touchpoint_id},
                }
            ],
            "from": {"email": self.sender.email, "name": self.sender.name},
            "reply_to": {"email": self.sender.reply_to},
            "subject": email.subject,
            "content": [
                {"type": "text/plain", "value": email.text},
                {"type": "text/html", "value": email.html},
            ],
            "categories": ["aftercare", email.category],
        }
        if email.headers:
            body["headers"] = dict(email.headers)
        response = self.transport.call(
            "POST", f"{self.base_url}/v3/mail/send", sends=True, json=body, headers=self.headers
        )
        if response.status_code != 202:
            raise ProviderError("SendGrid mail send", response.status_code)
        return response.headers["X-Message-Id"]

    def find(self, touchpoint_id: str) -> str | None:
        """The X-Message-Id of the message sent for a touchpoint, if SendGrid has one."""
        messages = self._search(f"unique_args['touchpoint_id']=\"{touchpoint_id}\"", limit=10)
        # each recipient's msg_id is the request's X-Message-Id plus ".filter..."
        return messages[0]["msg_id"].split(".", 1)[0] if messages else None

    def changed(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """The messages with an event between two instants (at most 1,000 a call: the caller
        asks for windows small enough)."""
        query = f'last_event_time BETWEEN TIMESTAMP "{iso(since)}" AND TIMESTAMP "{iso(until)}"'
        return self._search(query, limit=1000)

    def erase(self, addresses: list[str]) -> str:
        """Ask SendGrid to erase what it holds of these recipients (``POST
        /v3/recipients/erasejob``: at most `ERASE_BATCH` addresses a call; 202 and a job id).
        Not the same as deleting a suppression, which would let mail to them go out again."""
        if not 0 < len(addresses) <= ERASE_BATCH:
            raise ValueError(f"an erase job takes 1 to {ERASE_BATCH} addresses")
        response = self.transport.call(
            "POST",
            f"{self.base_url}/v3/recipients/erasejob",
            sends=False,
            json={"email_addresses": addresses},
            headers=self.headers,
        )
        if response.status_code != 202:
            raise ProviderError("SendGrid erase job", response.status_code)
        return response.json()["job_id"]

    def _search(self, query: str, limit: int) -> list[dict[str, Any]]:
        """Email Activity's messages matching a query."""
        response = self.transport.call(
            "GET",
            f"{self.base_url}/v3/messages",
            sends=False,
            params={"limit": limit, "query": query},
            headers=self.headers,
        )
        if response.status_code != 200:
            raise ProviderError("SendGrid email activity", response.status_code)
        return response.json().get("messages") or []

    def message(self, msg_id: str) -> dict[str, Any]:
        """One message with its events (and unique args: our touchpoint id)."""
        response = self.transport.call(
            "GET", f"{self.base_url}/v3/messages/{msg_id}", sends=False, headers=self.headers
        )
        if response.status_code != 200:
            raise ProviderError("SendGrid email activity", response.status_code)
        return response.json()
