"""What dispatch and engagement need of the outside services, independent of the vendor: the
errors every client raises, and one small interface per kind of provider (email, sms, video,
reviews), each implemented by a module of this package."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import requests

from aftercare.http import Ambiguous, Unavailable


class ProviderError(RuntimeError):
    """A provider refused a call for good (a 4xx other than 429): ``status`` and, when the
    provider gives one, its error ``code``."""

    def __init__(self, what: str, status: int, code: int | str | None = None) -> None:
        super().__init__(f"{what}: HTTP {status}" + (f" code {code}" if code else ""))
        self.what, self.status, self.code = what, status, code

    @property
    def reason(self) -> str:
        """A reason code for the ledger, e.g. ``twilio_21211`` or ``video_422``."""
        provider = self.what.split()[0].lower()
        return f"{provider}_{self.code or self.status}".replace(" ", "_")


class CannotTell(RuntimeError):
    """The provider keeps no record to look a message up in."""


@dataclass(frozen=True)
class Email:
    """One email to one recipient; ``touchpoint_id`` travels with it (custom arg, header).
    ``headers`` are extra header fields every transport sends as they are (the one-click
    ``List-Unsubscribe`` pair, `aftercare.messages.list_unsubscribe_headers`)."""

    touchpoint_id: str
    to: str
    to_name: str
    subject: str
    text: str
    html: str
    category: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sender:
    email: str
    name: str
    reply_to: str


class EmailProvider(Protocol):
    """Sends email (SendGrid, an SMTP relay)."""

    def send(self, email: Email) -> str:
        """Send one email; returns the provider's message id."""
        ...

    def find(self, touchpoint_id: str) -> str | None:
        """The message id of the email sent for a touchpoint, if the provider has it;
        `CannotTell` when it keeps no record to ask."""
        ...


class EmailActivity(Protocol):
    """What became of the emails sent (SendGrid's Email Activity)."""

    def changed(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """The messages with an event between two instants."""
        ...

    def message(self, msg_id: str) -> dict[str, Any]:
        """One message with its events."""
        ...


class SmsProvider(Protocol):
    """Sends texts and lists them (Twilio)."""

    def send(self, to: str, body: str) -> str:
        """Send one text; returns its id."""
        ...

    def find(self, to: str, body_sha256: str, since: datetime, taken: frozenset[str]) -> str | None:
        """The id of a text sent to ``to`` since ``since`` with this body, other than the
        ``taken`` ones."""
        ...

    def messages(self, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every message matching the provider's list filters, newest first."""
        ...


@dataclass(frozen=True)
class VideoPage:
    """What a personalised video shows (one touchpoint): the milestone's recording (``kind``
    file or embed) and poster, the candidate's first name, job title and company, the
    recruiter's name, and the call to action (``cta_kind`` review or referral, its link)."""

    touchpoint_id: str
    candidate_id: int
    milestone: str
    first_name: str
    job_title: str
    company: str
    recruiter_name: str
    recording: str
    kind: str
    poster: str | None
    cta_kind: str | None
    cta_url: str | None


class VideoPages(Protocol):
    """Personalised video pages made when the message goes out: our own (the preferences
    service). A platform that renders asynchronously (Sendspark) cannot answer at send time:
    its renders are asked for days ahead (`aftercare.dispatch.renders`), and a ready one
    reaches the send as the batch item's ``video_url``, which the send takes before this."""

    def publish(self, page: VideoPage) -> str:
        """The URL of the touchpoint's page, made when it has none (idempotent per
        touchpoint: publishing again gives the same page)."""
        ...


class ReviewProvider(Protocol):
    """Review invitations, and the reviews written."""

    def invitation_link(self, reference: str, email: str | None, name: str, locale: str) -> str:
        """A review invitation link carrying ``reference``."""
        ...

    def reviews(self, since: datetime) -> Iterator[dict[str, Any]]:
        """The reviews created from ``since`` on, oldest first."""
        ...


def json_error(response: requests.Response, key: str) -> Any:
    """``key`` of an error response's JSON body, if it has one."""
    try:
        return response.json().get(key)
    except (ValueError, AttributeError):
        return None


def iso(moment: datetime) -> str:
    """An instant as the providers' query strings write it: UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = [
    "Ambiguous",
    "CannotTell",
    "Email",
    "EmailActivity",
    "EmailProvider",
    "ProviderError",
    "ReviewProvider",
    "Sender",
    "SmsProvider",
    "Unavailable",
    "VideoPage",
    "VideoPages",
    "iso",
    "json_error",
]
