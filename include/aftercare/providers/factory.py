"""The provider clients a task needs, built from its connections (never from code): each gets
its own rate-limited `Transport`, its rate the provider's ``messages_per_second`` shared between
the slots of the channel's pool (the most send tasks of a channel running at once)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from aftercare import connections
from aftercare.ats.base import Ats
from aftercare.config import Config
from aftercare.http import Retries, Transport
from aftercare.names import SEND_POOLS
from aftercare.providers.base import (
    EmailProvider,
    ReviewProvider,
    Sender,
    SmsProvider,
    VideoPages,
)
from aftercare.providers.preferences import PreferencesFeed
from aftercare.providers.reviews import ReviewPlatform
from aftercare.providers.sendgrid import SendGrid
from aftercare.providers.smtp import Smtp
from aftercare.providers.twilio import Twilio, TwilioAccount
from aftercare.providers.video import OwnVideoPages


class Providers:
    """Lazily opened provider clients for a task of ``channel``; ``connection`` looks a
    connection up by id (`aftercare.connections.get_connection` in a task)."""

    def __init__(self, config: Config, channel: str, connection: Callable[[str], Any]) -> None:
        self.config, self.channel, self._connection = config, channel, connection
        self._slots = config.airflow.pools[SEND_POOLS[channel]].slots

    def transport(
        self, provider: str, per_second: float | None = None, concurrency: int | None = None
    ) -> Transport:
        """The provider's transport: its share of ``dispatch.providers`` (or the rate and
        concurrency given, for a service that is not one of those)."""
        if per_second is None or concurrency is None:
            limit = self.config.dispatch.providers[provider]
            per_second = limit.messages_per_second / self._slots
            concurrency = limit.concurrency
        return Transport(
            provider,
            rate={"per_second": per_second},
            connections=concurrency,
            burst=max(1, concurrency),
            timeout=self.config.dispatch.timeout_seconds,
            retries=Retries(
                attempts=self.config.dispatch.max_attempts,
                backoff_seconds=0.2,
                backoff_max_seconds=10,
                retry_after_max=30.0,
            ),
        )

    @property
    def concurrency(self) -> int:
        """Threads for one send task: enough for the slowest provider the channel calls."""
        providers = {
            "email": [self._email_provider],
            "sms": ["twilio"],
            "video": ["video", "twilio", self._email_provider],
            "phone": ["ats"],
        }[self.channel]
        return max(self.config.dispatch.providers[p].concurrency for p in providers)

    @property
    def _email_provider(self) -> str:
        return self.config.dispatch.email_transport

    @cached_property
    def _sender(self) -> Sender:
        messages = self.config.messages
        return Sender(str(messages.sender_email), messages.sender_name, str(messages.reply_to))

    @cached_property
    def email(self) -> EmailProvider:
        """SendGrid (which also reports what became of each email), or an SMTP relay."""
        if self._email_provider == "smtp":
            return Smtp(
                self._connection(connections.SMTP),
                self._sender,
                self.config.dispatch.timeout_seconds,
            )
        conn = self._connection(connections.EMAIL)
        return SendGrid(self.transport("sendgrid"), conn.host, conn.password, self._sender)

    @cached_property
    def sms(self) -> SmsProvider:
        conn = self._connection(connections.SMS)
        extra = conn.extra_dejson or {}
        account = TwilioAccount(
            conn.login, conn.password, extra.get("from_number"), extra.get("messaging_service_sid")
        )
        return Twilio(self.transport("twilio"), conn.host, account)

    @cached_property
    def video(self) -> VideoPages:
        """Our own video pages, registered at the preferences service (its feed token)."""
        conn = self._connection(connections.PREFERENCES)
        return OwnVideoPages(self.transport("video"), conn.host, conn.password)

    @cached_property
    def reviews(self) -> ReviewProvider:
        conn = self._connection(connections.REVIEWS)
        extra = conn.extra_dejson or {}
        return ReviewPlatform(
            self.transport("reviews"),
            api_url=conn.host,
            invitations_url=extra.get("invitations_url") or conn.host,
            key=conn.login,
            secret=conn.password,
            business_unit_id=extra["business_unit_id"],
        )

    @cached_property
    def ats(self) -> Ats:
        """The ATS client, held to this task's share of ``dispatch.providers.ats`` (and never
        above the ATS's own ``ats.rate_limit_per_minute``)."""
        from aftercare.ats.bullhorn import BullhornAts, BullhornCredentials

        share = self.config.dispatch.providers["ats"].messages_per_second * 60 / self._slots
        limit = min(self.config.ats.rate_limit_per_minute, max(1, int(share)))
        settings = self.config.ats.model_copy(update={"rate_limit_per_minute": limit})
        credentials = BullhornCredentials.from_connection(self._connection(connections.ATS))
        return BullhornAts(credentials, settings)

    @cached_property
    def preferences(self) -> PreferencesFeed:
        """The preferences service's feed of opt-outs and referral clicks."""
        conn = self._connection(connections.PREFERENCES)
        # a page a call: a handful of calls a load
        transport = self.transport("preferences", per_second=10, concurrency=1)
        return PreferencesFeed(transport, conn.host, conn.password)

    @cached_property
    def secret(self) -> str:
        """The secret that signs the unsubscribe and referral links."""
        return self._connection(connections.SIGNING).password

    def open(self, names: set[str]) -> None:
        """Open the named clients (``email``, ``sms``, ``ats``, ``video``, ``reviews``,
        ``secret``) up front, in the task's main thread: the Task SDK serves connections over
        one channel to its supervisor, which the sending threads must not share."""
        for name in names:
            getattr(self, name)

    def close(self) -> None:
        if "email" in self.__dict__ and isinstance(self.email, Smtp):
            self.email.close()
