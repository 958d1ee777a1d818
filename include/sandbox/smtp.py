"""The SMTP sink: a real SMTP server (aiosmtpd) that keeps every message it receives, for the
email channel's SMTP transport (docs/sandbox-providers.md, "SMTP sink")."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict

from sandbox.clock import iso

ADMIN_PREFIX = "/sandbox/smtp"
#: Where ``python -m sandbox serve`` listens for SMTP unless told otherwise.
DEFAULT_SMTP_PORT = 8025


class SmtpSettings(BaseModel):
    """The SMTP sink: recipients it refuses (RCPT TO answered 550, like an unknown mailbox)."""

    model_config = ConfigDict(extra="forbid")

    rejected_recipients: list[str] = []


def _part(message: EmailMessage, kind: str) -> str | None:
    part = message.get_body(preferencelist=(kind,))
    return part.get_content() if part is not None else None


class SmtpInbox:
    """What the sink received, in order; the aiosmtpd handler that fills it."""

    def __init__(self, settings: SmtpSettings, now: Callable[[], int]) -> None:
        self.settings = settings
        self.now = now
        self.received: list[dict[str, Any]] = []
        self.statuses: dict[str, int] = {"250": 0, "550": 0}

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address in self.settings.rejected_recipients:
            self.statuses["550"] += 1
            return "550 5.1.1 Recipient address rejected: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = cast(EmailMessage, message_from_bytes(data, policy=policy.default))
        self.received.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "headers": {name: str(value) for name, value in message.items()},
                "subject": message.get("Subject"),
                "message_id": message.get("Message-ID"),
                "text": _part(message, "plain"),
                "html": _part(message, "html"),
                "received_at": iso(self.now()),
            }
        )
        self.statuses["250"] += 1
        return "250 Message accepted for delivery"


class SmtpSink:
    """The SMTP server on ``host:port`` (0: a free port) in a background thread."""

    def __init__(self, inbox: SmtpInbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.inbox = inbox
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def start(self) -> SmtpSink:
        self._thread.start()
        factory = lambda: SMTP(self.inbox, hostname="sandbox.smtp")  # noqa: E731
        created = asyncio.run_coroutine_threadsafe(
            self._loop.create_server(factory, sock=self._socket), self._loop
        )
        self._server = created.result(timeout=10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._socket.close()


admin = APIRouter(tags=["smtp admin"])


@admin.get("/received")
async def received(request: Request) -> dict[str, Any]:
    """Every message the SMTP sink received, in order."""
    return {"data": request.app.state.smtp.received}


@admin.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    """Messages accepted (250) and recipients refused (550)."""
    return {"status": dict(request.app.state.smtp.statuses)}


def install(app: FastAPI, settings: SmtpSettings) -> None:
    """The app's SMTP inbox (the server that fills it is started by whoever runs the app)."""
    app.state.smtp = SmtpInbox(settings, app.state.clock.now)
    app.include_router(admin, prefix=ADMIN_PREFIX)
