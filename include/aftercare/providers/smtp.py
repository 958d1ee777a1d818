"""An SMTP relay (email): sends, and keeps no record we can ask."""

from __future__ import annotations

import smtplib
import threading
from datetime import datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from aftercare.providers.base import (
    Ambiguous,
    CannotTell,
    Email,
    ProviderError,
    Sender,
    Unavailable,
)


def _checked(code: int, answer: bytes) -> None:
    """An SMTP reply: 2xx/3xx go on; 4xx is a temporary refusal (nothing taken: `Unavailable`);
    5xx a permanent one (`ProviderError`)."""
    if 400 <= code < 500:
        raise Unavailable(f"SMTP {code}")
    if code >= 500:
        raise ProviderError("SMTP", 550, code)


class Smtp:
    """An SMTP relay (Airflow connection ``aftercare_smtp``: host, port, login, password;
    extra ``starttls``). Sends text and HTML; its answer is all we learn, so a message whose
    answer was lost cannot be looked up (see the runbook)."""

    def __init__(self, connection: Any, sender: Sender, timeout: float) -> None:
        self.connection, self.sender, self.timeout = connection, sender, timeout
        self._local = threading.local()  # one SMTP session per sending thread
        self._clients: list[smtplib.SMTP] = []

    def _client(self) -> smtplib.SMTP:
        """This thread's session, opened (and logged in) when it has none. Nothing is sent
        yet, so any failure here is safe to retry: `Unavailable`; refused credentials stop the
        task (every send would fail)."""
        client = getattr(self._local, "client", None)
        if client is not None:
            return client
        conn = self.connection
        try:
            client = smtplib.SMTP(conn.host, conn.port or 25, timeout=self.timeout)
            client.ehlo_or_helo_if_needed()
            if (conn.extra_dejson or {}).get("starttls"):
                client.starttls()
                client.ehlo()
            if conn.login:
                client.login(conn.login, conn.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderError("SMTP login", 401, exc.smtp_code) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise Unavailable(f"SMTP connect: {type(exc).__name__}") from None
        self._local.client = client
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                pass
        self._clients.clear()

    def send(self, email: Email) -> str:
        message = EmailMessage()
        message["From"] = f"{self.sender.name} <{self.sender.email}>"
        message["To"] = email.to
        message["Reply-To"] = self.sender.reply_to
        message["Subject"] = email.subject
        message["Date"] = format_datetime(datetime.now().astimezone())
        message["Message-ID"] = make_msgid(domain="aftercare")
        message["X-Aftercare-Touchpoint"] = email.touchpoint_id
        for name, value in email.headers.items():
            message[name] = value
        # quoted-printable: 7-bit safe for any relay (no 8BITMIME or SMTPUTF8 needed)
        message.set_content(email.text, cte="quoted-printable")
        message.add_alternative(email.html, subtype="html", cte="quoted-printable")
        for fresh in (False, True):  # a pooled session the relay closed: one new session
            client = self._client()
            try:
                # the envelope first: a refusal or a dropped session here sent nothing
                try:
                    _checked(*client.mail(self.sender.email))
                    _checked(*client.rcpt(email.to))
                except (ProviderError, Unavailable):
                    client.rset()  # the session stays usable for the next message
                    raise
            except smtplib.SMTPServerDisconnected:
                self._local.client = None
                if fresh:
                    raise Unavailable("SMTP: the relay closed the session") from None
                continue
            except (smtplib.SMTPException, OSError) as exc:
                self._local.client = None
                raise Unavailable(f"SMTP envelope: {type(exc).__name__}") from None
            break
        try:
            _checked(*client.data(message.as_bytes(policy=email_policy.SMTP)))  # CRLF lines
        except smtplib.SMTPDataError as exc:  # a reply: the relay did not take the message
            _checked(exc.smtp_code, exc.smtp_error)
            raise Ambiguous(f"SMTP data: reply {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:  # the message may have been taken
            self._local.client = None
            raise Ambiguous(f"SMTP data: {type(exc).__name__}") from None
        return message["Message-ID"]

    def find(self, touchpoint_id: str) -> str | None:
        """SMTP keeps no record we can ask: an unconfirmed send stays unconfirmed."""
        raise CannotTell("an SMTP relay keeps no record to look a message up in")
