"""Message templates per milestone and channel, rendered in a Jinja sandbox.

Files live under ``templates/<milestone>/`` (shared layouts, ``_*.j2``, at the top):

=============  ==============================================================================
channel        files
=============  ==============================================================================
email          ``email.subject.j2``, ``email.txt.j2``, ``email.html.j2``
sms            ``sms.txt.j2``
video_email    ``video_email.subject.j2``, ``video_email.txt.j2``, ``video_email.html.j2``
video_sms      ``video_sms.txt.j2``
phone          ``phone.subject.j2`` (an ATS task subject, at most 100 characters),
               ``phone.txt.j2`` (the task description)
=============  ==============================================================================

A milestone configured with ``video`` needs both video variants (the link goes by email when
the candidate can get email, else by sms). `Templates.load` compiles every template the config's
milestones need and renders each with sample data, so a missing file, a syntax error, an unknown
variable, a missing opt-out, an SMS longer than the configured segments or a phone subject over
100 characters fails at load, naming milestone, channel and file.

Values are data, never template code: the sandbox renders ``{{ 7*7 }}`` in a first name as
those characters. HTML parts autoescape; subjects and text parts do not, and print values as
they are. StrictUndefined makes an unknown variable an error, and printing a value that is None
(a link the message does not have) is an error too, so no message ever says "None".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import escape

from aftercare.config import Config, MessageSettings
from aftercare.messages.errors import MessageError
from aftercare.messages.sms import segments

TEMPLATE_ROOT = Path(__file__).parent / "templates"

#: the parts of each message channel: (subject file, text file, html file), None when absent
PARTS: dict[str, tuple[str | None, str, str | None]] = {
    "email": ("email.subject.j2", "email.txt.j2", "email.html.j2"),
    "sms": (None, "sms.txt.j2", None),
    "video_email": ("video_email.subject.j2", "video_email.txt.j2", "video_email.html.j2"),
    "video_sms": (None, "video_sms.txt.j2", None),
    "phone": ("phone.subject.j2", "phone.txt.j2", None),
}
#: config channel -> the message channels it sends through
MESSAGE_CHANNELS = {
    "email": ("email",),
    "sms": ("sms",),
    "video": ("video_email", "video_sms"),
    "phone": ("phone",),
}
#: the link variables a message may print
LINKS = ("video_link", "review_link", "referral_link", "unsubscribe_link")
#: milestones whose messages carry no opt-out (the first day is part of the placement)
NO_OPT_OUT = frozenset({"first_day"})
SMS_OPT_OUT = re.compile(r"Reply STOP to opt out\.?\s*$")
#: Bullhorn Task.subject is String(100)
PHONE_SUBJECT_MAX = 100


@dataclass(frozen=True)
class MessageContext:
    """What a message may say. Links are None where the message has none: review_request
        needs ``review_link``, referral_ask ``referral_link``, video channels ``video_link``, every
        milestone but first_day ``unsubscribe_link``; ``video_poster`` is the video email's still
    (None: the play button only). ``years`` is the work anniversary's number.
        An unknown recruiter (None) is signed as ``messages.sender_name`` with
        ``messages.recruiter_contact``; ``agency_name`` None is the configured agency's name."""

    first_name: str
    job_title: str | None
    client: str | None
    recruiter_name: str | None
    recruiter_contact: str | None
    milestone: str
    touchpoint_id: str
    agency_name: str | None = None
    video_link: str | None = None
    #: the video's still for the email (a video milestone's configured poster, if any)
    video_poster: str | None = None
    review_link: str | None = None
    referral_link: str | None = None
    unsubscribe_link: str | None = None
    years: int | None = None


@dataclass(frozen=True)
class Rendered:
    """A rendered message: subject (email, phone), text (every channel; an SMS has no trailing
    newline), html (email)."""

    subject: str | None
    text: str
    html: str | None


def _finalize(value: Any) -> Any:
    if value is None:
        raise MessageError("a template prints a value that is None (a link it does not have?)")
    return value


def _environment(root: Path) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(root),
        autoescape=select_autoescape(["html.j2"], default_for_string=False, default=False),
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _sample(milestone: str, channel: str, settings: MessageSettings, longest: bool) -> dict:
    """Variables to check a template with: ordinary ones, or the longest plausible."""
    check = settings.sms_check

    def text(plain: str, chars: int) -> str:
        return "W" * chars if longest else plain

    def link(path: str) -> str:
        url = f"https://links.example/{path}"
        return url + "x" * max(0, check.link_chars - len(url)) if longest else url

    return {
        "first_name": text("Sam", check.first_name_chars),
        "job_title": text("Warehouse Operative", check.job_title_chars),
        "client": text("Acme Logistics", check.client_chars),
        # the fallbacks a context without a recruiter gets may be longer than the maxima
        "recruiter_name": text(
            "Alex Taylor", max(check.recruiter_name_chars, len(settings.sender_name))
        ),
        "recruiter_contact": text(
            "020 7946 0000", max(check.recruiter_contact_chars, len(settings.recruiter_contact))
        ),
        "milestone": milestone,
        "touchpoint_id": "tp-sample",
        "video_link": link("v/sample") if channel.startswith("video") else None,
        "video_poster": "https://media.example/poster.jpg" if channel.startswith("video") else None,
        "review_link": link("r/sample") if milestone == "review_request" else None,
        "referral_link": link("f/sample") if milestone == "referral_ask" else None,
        "unsubscribe_link": None if milestone in NO_OPT_OUT else link("u/sample?token=a&b"),
        "years": 40 if longest else 3,
    }


class Templates:
    """The compiled templates of the config's milestones; build with `Templates.load`."""

    def __init__(self, env: SandboxedEnvironment, config: Config, channels: dict) -> None:
        self._env, self._config, self._channels = env, config, channels
        self._links: dict[tuple[str, str], frozenset[str]] = {}

    @classmethod
    def load(cls, config: Config, root: Path | None = None) -> Templates:
        """Compile and check every template ``config``'s milestones need (from ``root``,
        default: the package's templates); `MessageError` names what is wrong where."""
        env = _environment(Path(root) if root else TEMPLATE_ROOT)
        templates = cls(env, config, {})
        for milestone, spec in config.planning.milestones.items():
            for channel in (c for kind in spec.channels for c in MESSAGE_CHANNELS[kind]):
                templates._channels[milestone, channel] = tuple(
                    templates._compile(milestone, channel, name) for name in PARTS[channel]
                )
                templates._check(milestone, channel)
        return templates

    def channels(self) -> list[tuple[str, str]]:
        """The (milestone, message channel) pairs loaded."""
        return list(self._channels)

    def links(self, milestone: str, channel: str) -> frozenset[str]:
        """The link variables (``video_link``, ``review_link``, ...) the message of
        ``milestone`` on ``channel`` prints: what dispatch must create before rendering it."""
        return self._links[milestone, channel]

    def render(self, milestone: str, channel: str, context: MessageContext) -> Rendered:
        """The message of ``milestone`` on ``channel`` (email, sms, video_email, video_sms,
        phone) for ``context``. A phone subject is cut to 100 characters."""
        if context.milestone != milestone:
            raise MessageError(f"context is for {context.milestone!r}, not {milestone!r}")
        # a shallow copy (every field is a string, a number or None): asdict's deep copy cost
        # a third of a millisecond a message
        values = {field.name: getattr(context, field.name) for field in dataclasses.fields(context)}
        messages = self._config.messages
        values["agency_name"] = context.agency_name or self._config.agency.name
        values["recruiter_name"] = context.recruiter_name or messages.sender_name
        values["recruiter_contact"] = context.recruiter_contact or messages.recruiter_contact
        rendered = self._render(milestone, channel, values)
        if channel == "phone" and len(rendered.subject or "") > PHONE_SUBJECT_MAX:
            subject = rendered.subject[: PHONE_SUBJECT_MAX - 1] + "…"
            rendered = dataclasses.replace(rendered, subject=subject)
        return rendered

    def _compile(self, milestone: str, channel: str, name: str | None) -> Any:
        if name is None:
            return None
        try:
            return self._env.get_template(f"{milestone}/{name}")
        except TemplateError as exc:
            raise self._error(milestone, channel, name, exc) from exc

    @staticmethod
    def _error(milestone: str, channel: str, name: str, problem: object) -> MessageError:
        if isinstance(problem, TemplateError):
            problem = f"{type(problem).__name__}: {problem}"
        return MessageError(f"milestone {milestone!r}, channel {channel!r}, file {name}: {problem}")

    def _render(self, milestone: str, channel: str, values: Mapping[str, Any]) -> Rendered:
        try:
            parts = self._channels[milestone, channel]
        except KeyError:
            raise MessageError(f"no {channel!r} templates loaded for {milestone!r}") from None
        out: list[str | None] = []
        for name, template in zip(PARTS[channel], parts, strict=True):
            try:
                out.append(None if template is None else template.render(values))
            except (TemplateError, MessageError) as exc:
                raise self._error(milestone, channel, name, exc) from exc
        subject, text, html = out
        return Rendered(
            subject=None if subject is None else " ".join(subject.split()),
            text=text.strip() if channel.endswith("sms") else text.strip() + "\n",
            html=html,
        )

    def _check(self, milestone: str, channel: str) -> None:
        """Render with sample values: the opt-out is there, SMS and subjects fit."""
        messages = self._config.messages
        agency = {"agency_name": self._config.agency.name}
        sample = _sample(milestone, channel, messages, longest=False) | agency
        rendered = self._render(milestone, channel, sample)
        subject, text, html = PARTS[channel]
        if milestone not in NO_OPT_OUT and channel != "phone":
            link = sample["unsubscribe_link"]
            if channel.endswith("sms") and not SMS_OPT_OUT.search(rendered.text):
                raise self._error(milestone, channel, text, "does not end 'Reply STOP to opt out'")
            if not channel.endswith("sms") and link not in rendered.text:
                raise self._error(milestone, channel, text, "has no unsubscribe link")
            if html and str(escape(link)) not in (rendered.html or ""):
                raise self._error(milestone, channel, html, "has no unsubscribe link")
        markers = {name: f"https://links.example/{name}" for name in LINKS}
        every_link = self._render(milestone, channel, sample | markers)
        printed = " ".join(filter(None, dataclasses.astuple(every_link)))
        self._links[milestone, channel] = frozenset(
            n for n, url in markers.items() if url in printed
        )
        longest = self._render(
            milestone, channel, _sample(milestone, channel, messages, True) | agency
        )
        if channel.endswith("sms"):
            count, limit = segments(longest.text), messages.sms_check.max_segments
            if count > limit:
                raise self._error(
                    milestone,
                    channel,
                    text,
                    f"takes {count} SMS segments with the longest plausible values "
                    f"(at most {limit}; {len(longest.text)} characters)",
                )
        if channel == "phone" and len(longest.subject) > PHONE_SUBJECT_MAX:
            raise self._error(
                milestone,
                channel,
                subject,
                f"is {len(longest.subject)} characters with the longest plausible values "
                f"(at most {PHONE_SUBJECT_MAX})",
            )
