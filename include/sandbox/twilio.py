"""Sandbox Twilio Programmable Messaging (API 2010-04-01): create, fetch and list messages, under
``/twilio`` (docs/sandbox-providers.md, "Twilio")."""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

import phonenumbers
from fastapi import APIRouter, Body, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from sandbox.clock import iso, rfc2822
from sandbox.engagement import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    EngagementSettings,
    draw,
    hex_id,
    later,
    pick,
)
from sandbox.faults import Provider, ProviderFaults, admin_router, provider_route
from sandbox.faults import unit_draw as _unit_draw

PREFIX = "/twilio"
ADMIN_PREFIX = "/sandbox/twilio"
API = "/2010-04-01/Accounts/{account_sid}"
MAX_BODY = 1600
MAX_PAGE_SIZE = 1000
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")
#: A link in a text.
LINK = re.compile(r"https?://\S+")
#: Delivery-time error codes of undelivered messages, and their messages.
UNDELIVERED = {
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
}
POSITIVE_REPLIES = (
    "All good thanks, loving it",
    "Going really well, thank you!",
    "Great so far, thanks for checking in",
    "Really happy here, cheers",
)
#: Each has a word of the shipped config's negative keywords (the pipeline reads it negative).
NEGATIVE_REPLIES = (
    "Not great to be honest, struggling",
    "Not going well, struggling a bit",
    "Finding it hard, not sure it is working out, can we talk?",
)


class TwilioSettings(BaseModel):
    """The sandbox Twilio account: credentials, senders, recipients that fail, faults."""

    model_config = ConfigDict(extra="forbid")

    account_sid: str = Field("AC5a4d1b0c0ffee0000000000000000042", pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: str = "sandbox-twilio-auth-token"  # noqa: S105 - the sandbox's published token
    from_numbers: list[str] = ["+15005550006"]
    messaging_service_sid: str = Field(
        "MG5a4d1b0c0ffee0000000000000000042", pattern=r"^MG[0-9a-fA-F]{32}$"
    )
    invalid_numbers: list[str] = []
    opted_out_numbers: list[str] = []
    opted_out_share: float = Field(0.02, ge=0, le=1)
    faults: ProviderFaults = ProviderFaults()


def twilio_error(code: int, message: str, status: int, **headers: str) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status, headers=headers or None)


def _fault(kind: Literal["429", "500"]) -> Response:
    if kind == "429":
        return twilio_error(20429, "Too Many Requests", 429)
    return twilio_error(20500, "Internal Server Error", 500)


def segments(body: str) -> int:
    """SMS segments: GSM-7 (160, or 153 per part) unless a character needs UCS-2 (70 / 67)."""
    if all(char in GSM_BASIC or char in GSM_EXTENDED for char in body):
        units = sum(2 if char in GSM_EXTENDED else 1 for char in body)
        return 1 if units <= 160 else math.ceil(units / 153)
    units = sum(2 if ord(char) > 0xFFFF else 1 for char in body)
    return 1 if units <= 70 else math.ceil(units / 67)


def e164(number: str) -> str | None:
    """The number if it is a valid phone number written in E.164, else None."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return number if phonenumbers.is_valid_number(parsed) and formatted == number else None


class TwilioService(Provider):
    """The sandbox account's messages (newest last) and its opt-out list."""

    def __init__(
        self, settings: TwilioSettings, seed: int, engagement: EngagementSettings | None = None
    ) -> None:
        super().__init__("twilio", settings.faults, seed, 11, _fault)
        self.settings, self.seed = settings, seed
        self.engagement = engagement or EngagementSettings()
        self.opted_out: set[str] = set(settings.opted_out_numbers)
        self.messages: dict[str, dict[str, Any]] = {}
        #: Inbound replies by sid, including those whose time has not come yet.
        self.inbound: dict[str, dict[str, Any]] = {}
        #: STOP and START replies per candidate number: (time, keyword), in time order.
        self.keywords: dict[str, list[tuple[int, str]]] = {}
        #: The scenario's planted candidates' numbers (set by the sandbox app) and their reply
        #: to every text: "negative", "positive" or "none". They are never opted out at random
        #: and reply only as scripted, their texts are delivered: their stories play out the
        #: same with any seed.
        self.scripted: dict[str, str] = {}
        self._seq = 0
        #: every DELETE of a message asked of the account, in order (sid, HTTP status)
        self.deletions: list[dict[str, Any]] = []

    def new_sid(self, *asked: object) -> str:
        """A message sid (``SM`` + 32 hex) for a text of that content (`Provider.new_id`)."""
        return "SM" + self.new_id(16, *asked).hex()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def is_opted_out(self, number: str, now: int | None = None) -> bool:
        """Opted out by settings or the admin endpoint, one of the seeded share, or by a STOP
        reply (not lifted by a later START) whose time has passed by ``now`` (None: ever)."""
        share = self.settings.opted_out_share
        drawn = number not in self.scripted and _unit_draw(self.seed, "sms-opt-out", number) < share
        if number in self.opted_out or drawn:
            return True
        said = [k for at, k in self.keywords.get(number, ()) if now is None or at <= now]
        return bool(said) and said[-1] == "STOP"

    def play(self, message: dict[str, Any]) -> None:
        """Decide what happens to an outbound message: its delivery (kept on the message) and
        the candidate's replies (kept in ``inbound`` until their time)."""
        seed, sid, rates = self.seed, message["sid"], self.engagement
        done = later(seed, message["_sent_ms"], MINUTE_MS, 5 * MINUTE_MS, "sms-done", sid)
        message["_done_ms"] = done
        scripted = self.scripted.get(message["to"])
        if scripted is None and draw(seed, "sms-undelivered", sid) < rates.sms_undelivered_share:
            code = list(UNDELIVERED)[int(draw(seed, "sms-error", sid) * len(UNDELIVERED))]
            message["_final"] = {"status": "undelivered", "error_code": code}
            return
        message["_final"] = {"status": "delivered", "error_code": None}
        if scripted == "none" or (
            scripted is None and draw(seed, "sms-reply", sid) >= rates.sms_reply_share
        ):
            return
        reply_at = later(seed, done, HOUR_MS, 48 * HOUR_MS, "sms-reply-at", sid)
        question = "available" in message["body"].lower()
        if scripted is not None:
            replies = NEGATIVE_REPLIES if scripted == "negative" else POSITIVE_REPLIES
            text = pick(seed, replies, f"sms-{scripted}-text", sid)
        elif draw(seed, "sms-stop", sid) < rates.sms_stop_share:
            text = "STOP"
        elif question:
            text = "YES" if draw(seed, "sms-yes", sid) < rates.sms_yes_share else "NO"
        elif draw(seed, "sms-negative", sid) < rates.sms_negative_share:
            text = pick(seed, NEGATIVE_REPLIES, "sms-negative-text", sid)
        else:
            text = pick(seed, POSITIVE_REPLIES, "sms-positive-text", sid)
        self._reply(message, text, reply_at, "reply")
        if text == "STOP" and draw(seed, "sms-start", sid) < rates.sms_start_share:
            start_at = later(seed, reply_at, DAY_MS, 30 * DAY_MS, "sms-start-at", sid)
            self._reply(message, "START", start_at, "start")

    def _reply(self, message: dict[str, Any], text: str, at: int, kind: str) -> None:
        sid = "SM" + hex_id(self.seed, 16, "sms-inbound", kind, message["sid"])
        uri = _message_uri(message["account_sid"], sid)
        self.inbound[sid] = {
            "account_sid": message["account_sid"],
            "api_version": "2010-04-01",
            "body": text,
            "date_created": rfc2822(at),
            "date_sent": rfc2822(at),
            "date_updated": rfc2822(at),
            "direction": "inbound",
            "error_code": None,
            "error_message": None,
            "from": message["to"],
            "messaging_service_sid": message["messaging_service_sid"],
            "num_media": "0",
            "num_segments": str(segments(text)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "received",
            "subresource_uris": {
                "media": uri.removesuffix(".json") + "/Media.json",
                "feedback": uri.removesuffix(".json") + "/Feedback.json",
            },
            "to": message["from"],
            "uri": uri,
            "_sent_ms": at,
            "_seq": self.next_seq(),
            "_in_reply_to": message["sid"],
        }
        if text in ("STOP", "START"):
            self.keywords.setdefault(message["to"], []).append((at, text))
            self.keywords[message["to"]].sort()

    def visible(self, now: int) -> list[dict[str, Any]]:
        """Every message as it stands at ``now`` (outbound, and replies whose time has come),
        newest first."""
        found = [current(message, now) for message in self.messages.values()]
        found += [reply for reply in self.inbound.values() if reply["_sent_ms"] <= now]
        found.sort(key=lambda message: (message["_sent_ms"], message["_seq"]), reverse=True)
        return found


def current(message: dict[str, Any], now: int) -> dict[str, Any]:
    """An outbound message as it stands at ``now``: ``sent`` until its delivery time, then
    ``delivered`` or ``undelivered`` (with ``error_code``), ``date_updated`` the last change."""
    if "_done_ms" not in message or now < message["_done_ms"]:
        return message
    final = message["_final"]
    code = final["error_code"]
    return {
        **message,
        "status": final["status"],
        "error_code": code,
        "error_message": UNDELIVERED.get(code) if code else None,
        "date_updated": rfc2822(message["_done_ms"]),
    }


def _service(request: Request) -> TwilioService:
    return request.app.state.providers["twilio"]


def _authorised(request: Request, service: TwilioService) -> bool:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    settings = service.settings
    return (
        scheme.lower() == "basic"
        and secrets.compare_digest(user, settings.account_sid)
        and secrets.compare_digest(password, settings.auth_token)
    )


def _checked(request: Request, account_sid: str) -> TwilioService | JSONResponse:
    """The service, or the error for bad credentials or another account's path."""
    service = _service(request)
    if not _authorised(request, service):
        return twilio_error(20003, "Authentication Error - invalid username", 401)
    if account_sid != service.settings.account_sid:
        return twilio_error(20404, f"The requested resource {request.url.path} was not found", 404)
    return service


def _message_uri(account_sid: str, sid: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"


router = APIRouter(route_class=provider_route("twilio", PREFIX), tags=["twilio"])


@router.post(f"{API}/Messages.json", status_code=201)
async def create_message(account_sid: str, request: Request) -> Response:
    """Send an SMS: form fields To, From or MessagingServiceSid, Body."""
    checked = _checked(request, account_sid)
    if isinstance(checked, JSONResponse):
        return checked
    service, settings = checked, checked.settings
    form = dict(parse_qsl((await request.body()).decode(errors="replace")))
    to, sender, service_sid = form.get("To"), form.get("From"), form.get("MessagingServiceSid")
    body = form.get("Body")
    if not to:
        return twilio_error(21604, "A 'To' phone number is required.", 400)
    if (sender is None) == (service_sid is None):
        return twilio_error(21603, "Give exactly one of 'From' and 'MessagingServiceSid'.", 400)
    if sender is not None and sender not in settings.from_numbers:
        return twilio_error(
            21606, f"The From phone number {sender} is not a valid, SMS-capable number.", 400
        )
    if service_sid is not None and service_sid != settings.messaging_service_sid:
        return twilio_error(21705, "The Messaging Service Sid is invalid.", 400)
    if not body:
        return twilio_error(21602, "Message body is required.", 400)
    if len(body) > MAX_BODY:
        return twilio_error(21617, "The concatenated message body exceeds 1600 characters.", 400)
    if e164(to) is None or to in settings.invalid_numbers:
        return twilio_error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
    now = request.app.state.clock.now()
    if service.is_opted_out(to, now):
        return twilio_error(21610, "Attempt to send to unsubscribed recipient", 400)
    # the text's links blanked: they carry tokens signed with the sender's own secret
    sid = service.new_sid(account_sid, to, sender or service_sid, LINK.sub("<link>", body))
    uri = _message_uri(account_sid, sid)
    message = {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": rfc2822(now),
        "date_sent": None,
        "date_updated": rfc2822(now),
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": sender,
        "messaging_service_sid": service_sid,
        "num_media": "0",
        "num_segments": "0" if service_sid else str(segments(body)),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "accepted" if service_sid else "queued",
        "subresource_uris": {
            "media": uri.removesuffix(".json") + "/Media.json",
            "feedback": uri.removesuffix(".json") + "/Feedback.json",
        },
        "to": to,
        "uri": uri,
    }
    # Handed to the carrier at once: what fetch and list show from now on.
    sent = {
        **message,
        "from": sender or settings.from_numbers[0],
        "num_segments": str(segments(body)),
        "status": "sent",
        "date_sent": rfc2822(now),
    }
    service.messages[sid] = {**sent, "_sent_ms": now, "_seq": service.next_seq()}
    service.play(service.messages[sid])
    service.record({**sent, "received_at": iso(now)})
    return JSONResponse(message, 201)


@router.get(f"{API}/Messages/{{sid}}.json")
async def fetch_message(account_sid: str, sid: str, request: Request) -> Response:
    """One message by sid."""
    checked = _checked(request, account_sid)
    if isinstance(checked, JSONResponse):
        return checked
    now = request.app.state.clock.now()
    message = checked.messages.get(sid)
    if message is not None:
        return JSONResponse(_public(current(message, now)))
    reply = checked.inbound.get(sid)
    if reply is None or reply["_sent_ms"] > now:
        return twilio_error(20404, f"The requested resource {request.url.path} was not found", 404)
    return JSONResponse(_public(reply))


@router.delete(f"{API}/Messages/{{sid}}.json", status_code=204)
async def delete_message(account_sid: str, sid: str, request: Request) -> Response:
    """Delete a message (ours, or a reply) and its body: 204, no content; 404 (code 20404)
    when the account has none by that sid."""
    checked = _checked(request, account_sid)
    if isinstance(checked, JSONResponse):
        return checked
    now = request.app.state.clock.now()
    found = checked.messages.pop(sid, None)
    reply = checked.inbound.get(sid)
    if found is None and reply is not None and reply["_sent_ms"] <= now:
        found = checked.inbound.pop(sid)
    checked.deletions.append({"sid": sid, "status": 404 if found is None else 204})
    if found is None:
        return twilio_error(20404, f"The requested resource {request.url.path} was not found", 404)
    return Response(status_code=204)


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in message.items() if not key.startswith("_")}


def _day(value: str) -> date:
    return date.fromisoformat(value)


FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")


@router.get(f"{API}/Messages.json")
async def list_messages(account_sid: str, request: Request) -> Response:
    """Messages newest first (outbound, and inbound replies whose time has come), filtered by
    To, From, DateSent (=, <=, >=), paged."""
    checked = _checked(request, account_sid)
    if isinstance(checked, JSONResponse):
        return checked
    params = request.query_params
    try:
        page_size = int(params.get("PageSize", 50))
        page = int(params.get("Page", 0))
        days = {name: _day(params[name]) for name in FILTERS[2:] if name in params}
    except ValueError:
        return twilio_error(20001, "Invalid PageSize, Page or DateSent", 400)
    if not 1 <= page_size <= MAX_PAGE_SIZE or page < 0:
        return twilio_error(20001, f"PageSize must be 1 to {MAX_PAGE_SIZE}, Page at least 0", 400)
    token = params.get("PageToken", "")
    now = request.app.state.clock.now()
    found = [message for message in checked.visible(now) if _matches(message, params, days)]
    if token[:2] == "PA":  # the page after the message named
        position = next((i for i, m in enumerate(found) if m["sid"] == token[2:]), None)
        start = (position + 1) if position is not None else len(found)
    elif token[:2] == "PB":  # the page before the message named
        position = next((i for i, m in enumerate(found) if m["sid"] == token[2:]), 0)
        start = max(0, position - page_size)
    elif token:
        return twilio_error(20001, "Invalid PageToken", 400)
    else:
        start = page * page_size
    rows = found[start : start + page_size]
    base = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
    filters = [(name, params[name]) for name in FILTERS if name in params]

    def uri(page_number: int, page_token: str | None = None) -> str:
        query = [*filters, ("PageSize", page_size), ("Page", page_number)]
        return f"{base}?{urlencode(query + ([('PageToken', page_token)] if page_token else []))}"

    more = start + page_size < len(found)
    return JSONResponse(
        {
            "messages": [_public(message) for message in rows],
            "end": page * page_size + max(len(rows) - 1, 0),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1, f"PA{rows[-1]['sid']}") if more and rows else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": uri(page - 1, f"PB{rows[0]['sid']}") if page and rows else None,
            "start": page * page_size,
            "uri": uri(page, token or None),
        }
    )


def _matches(message: dict[str, Any], params: Any, days: dict[str, date]) -> bool:
    if "To" in params and message["to"] != params["To"]:
        return False
    if "From" in params and message["from"] != params["From"]:
        return False
    if not days:
        return True
    sent = datetime.fromtimestamp(message["_sent_ms"] / 1000, UTC).date()
    return (
        sent == days.get("DateSent", sent)
        and sent <= days.get("DateSent<", sent)
        and sent >= days.get("DateSent>", sent)
    )


class OptOuts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    numbers: list[str]


admin = admin_router("twilio")


@admin.post("/opt-outs")
async def add_opt_outs(request: Request, opt_outs: Annotated[OptOuts, Body()]) -> dict[str, Any]:
    """Numbers that replied STOP: sends to them fail with 21610 from now on."""
    service = _service(request)
    service.opted_out.update(opt_outs.numbers)
    return {"opted_out": sorted(service.opted_out)}


@admin.get("/deletions")
async def deletions(request: Request) -> dict[str, Any]:
    """Every DELETE of a message the account was asked, in order, with its answer."""
    return {"data": _service(request).deletions}


@admin.get("/replies")
async def replies(request: Request) -> dict[str, Any]:
    """The candidates' replies whose time has come, oldest first, each with ``in_reply_to``
    (the sid of our message)."""
    service, now = _service(request), request.app.state.clock.now()
    shown = sorted(
        (reply for reply in service.inbound.values() if reply["_sent_ms"] <= now),
        key=lambda reply: (reply["_sent_ms"], reply["_seq"]),
    )
    return {"data": [{**_public(reply), "in_reply_to": reply["_in_reply_to"]} for reply in shown]}


def install(
    app: FastAPI, settings: TwilioSettings, seed: int, engagement: EngagementSettings | None = None
) -> None:
    """Mount a fresh sandbox Twilio account on ``app``."""
    app.state.providers["twilio"] = TwilioService(settings, seed, engagement)
    app.include_router(router, prefix=PREFIX)
    app.include_router(admin, prefix=ADMIN_PREFIX)
