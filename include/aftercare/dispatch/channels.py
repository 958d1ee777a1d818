"""The providers a send task needs, built from the Airflow connections (never from code): each
gets its own rate-limited `Transport`, its rate the provider's ``messages_per_second`` shared
between the slots of the channel's pool (the most send tasks of a channel running at once)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from aftercare import connections
from aftercare.config import Config
from aftercare.dispatch.providers import (
    ReviewPlatform,
    Sender,
    SendGrid,
    Smtp,
    Transport,
    Twilio,
    TwilioAccount,
    VideoPlatform,
)
from aftercare.messages import referral_link, unsubscribe_link
from aftercare.names import SEND_POOLS


def _connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


class Providers:
    """Lazily opened provider clients for a send task of ``channel``."""

    def __init__(self, config: Config, channel: str) -> None:
        self.config, self.channel = config, channel
        self._slots = config.airflow.pools[SEND_POOLS[channel]].slots

    def transport(self, provider: str) -> Transport:
        limit = self.config.dispatch.providers[provider]
        return Transport(
            provider,
            per_second=limit.messages_per_second / self._slots,
            concurrency=limit.concurrency,
            timeout=self.config.dispatch.timeout_seconds,
            attempts=self.config.dispatch.max_attempts,
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
    def email(self) -> SendGrid | Smtp:
        if self._email_provider == "smtp":
            return Smtp(
                _connection(connections.SMTP), self._sender, self.config.dispatch.timeout_seconds
            )
        conn = _connection(connections.EMAIL)
        return SendGrid(self.transport("sendgrid"), conn.host, conn.password, self._sender)

    @cached_property
    def sms(self) -> Twilio:
        conn = _connection(connections.SMS)
        extra = conn.extra_dejson or {}
        account = TwilioAccount(
            conn.login, conn.password, extra.get("from_number"), extra.get("messaging_service_sid")
        )
        return Twilio(self.transport("twilio"), conn.host, account)

    @cached_property
    def video(self) -> VideoPlatform:
        conn = _connection(connections.VIDEO)
        return VideoPlatform(self.transport("video"), conn.host, conn.password)

    @cached_property
    def reviews(self) -> ReviewPlatform:
        conn = _connection(connections.REVIEWS)
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
    def ats(self) -> Any:
        """The ATS client, held to this task's share of ``dispatch.providers.ats`` (and never
        above the ATS's own ``ats.rate_limit_per_minute``)."""
        from aftercare.connections import open_ats

        share = self.config.dispatch.providers["ats"].messages_per_second * 60 / self._slots
        limit = min(self.config.ats.rate_limit_per_minute, max(1, int(share)))
        ats = self.config.ats.model_copy(update={"rate_limit_per_minute": limit})
        return open_ats(self.config.model_copy(update={"ats": ats}))

    @cached_property
    def _secret(self) -> str:
        return _connection(connections.SIGNING).password

    def unsubscribe_link(self, item: dict[str, Any]) -> str:
        channel = "sms" if item["route"] == "sms" else "email"
        return unsubscribe_link(
            str(self.config.messages.unsubscribe_link_base),
            self._secret,
            item["candidate_id"],
            channel,
            item["touchpoint_id"],
        )

    def referral_link(self, item: dict[str, Any]) -> str:
        return referral_link(
            str(self.config.messages.referral_link_base), self._secret, item["candidate_id"]
        )

    def open(self, routes: set[str], links: set[str]) -> None:
        """Open what a batch needs up front, in the task's main thread: the Task SDK serves
        connections over one channel to its supervisor, which the sending threads must not
        share."""
        wanted = {"email": "email", "sms": "sms", "phone": "ats"}
        wanted |= {"video_link": "video", "review_link": "reviews"}
        for name in (routes | links) & set(wanted):
            getattr(self, wanted[name])
        if links & {"referral_link", "unsubscribe_link"}:
            _ = self._secret

    def close(self) -> None:
        if "email" in self.__dict__ and isinstance(self.email, Smtp):
            self.email.close()
