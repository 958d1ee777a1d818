"""Sandbox SendGrid v3: Mail Send and the Email Activity feed, under ``/sendgrid``
(docs/sandbox-providers.md, "SendGrid")."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from sandbox.clock import iso
from sandbox.engagement import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    EngagementSettings,
    draw,
    later,
)
from sandbox.faults import Provider, ProviderFaults, admin_router, provider_route

PREFIX = "/sendgrid"
ADMIN_PREFIX = "/sandbox/sendgrid"
MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
MAX_CUSTOM_ARGS_BYTES = 10_000
#: the Recipients' Data Erasure API: addresses (and bytes) a request at most
ERASE_MAX = 5000
ERASE_MAX_BYTES = 256 * 1024
HELP = {"url": "https://www.twilio.com/docs/sendgrid/api-reference/mail-send/errors"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LINK = re.compile(r"https?://[^\s\"'<>]+")
#: What of a personalization makes a message's id (`SendGridService.new_message_id`).
ENVELOPE = ("to", "cc", "bcc", "subject", "custom_args")
BOUNCE_REASONS = {
    "hard": "550 5.1.1 The email account that you tried to reach does not exist.",
    "soft": "452 4.2.2 The email account that you tried to reach is over quota.",
}
USER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
#: Fixed values of the message detail's fields the sandbox has no use for (the spec wants them).
DETAIL_CONSTANTS = {
    "api_key_id": "sandboxkey42",
    "asm_group_id": 1,
    "teammate": "",
    "originating_ip": "192.0.2.10",
    "outbound_ip": "198.51.100.25",
    "outbound_ip_type": "shared",
}


class SendGridSettings(BaseModel):
    """The sandbox SendGrid account: API key, rate limit, undeliverable addresses, faults."""

    model_config = ConfigDict(extra="forbid")

    api_key: str = "SG.sandbox-sendgrid-api-key"
    rate_limit_per_second: int = Field(10_000, ge=1)
    undeliverable_emails: list[str] = []
    faults: ProviderFaults = ProviderFaults()


class MailError(ValueError):
    """A refused mail send: the errors to answer with."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


def errors(*items: tuple[str, str | None], status: int) -> JSONResponse:
    body = [{"message": message, "field": field, "help": HELP} for message, field in items]
    return JSONResponse({"errors": body}, status)


def _fault(kind: Literal["429", "500"]) -> Response:
    if kind == "429":
        return JSONResponse({"errors": [{"field": None, "message": "too many requests"}]}, 429)
    return JSONResponse({"errors": [{"field": None, "message": "internal server error"}]}, 500)


class SendGridService(Provider):
    """Accepted mail, one activity row per recipient, and the rate-limit window."""

    def __init__(
        self, settings: SendGridSettings, seed: int, engagement: EngagementSettings | None = None
    ) -> None:
        super().__init__("sendgrid", settings.faults, seed, 21, _fault)
        self.settings, self.seed = settings, seed
        self.engagement = engagement or EngagementSettings()
        self.by_msg_id: dict[str, dict[str, Any]] = {}
        self.activity: list[dict[str, Any]] = []
        #: the recipients' data erasure jobs asked, in order ({job_id, email_addresses})
        self.erase_jobs: list[dict[str, Any]] = []
        self._window, self._used = 0, 0

    def new_message_id(self, *asked: object) -> str:
        """An ``X-Message-Id`` (22 characters of URL-safe base64) for a mail of that content
        (`Provider.new_id`)."""
        return base64.urlsafe_b64encode(self.new_id(16, *asked)).decode().rstrip("=")

    def rate_headers(self) -> tuple[dict[str, str], bool]:
        """The X-RateLimit-* headers for a call in this second, and whether it is over."""
        now = int(time.time())
        if now != self._window:
            self._window, self._used = now, 0
        self._used += 1
        limit = self.settings.rate_limit_per_second
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(limit - self._used, 0)),
            "X-RateLimit-Reset": str(now + 1),
        }
        return headers, self._used > limit

    def play(self, row: dict[str, Any], links: list[str], undeliverable: bool) -> None:
        """Decide a recipient's events (kept on the row as ``_events``: time, event), in time
        order: processed, then delivered or bounced 1-5 minutes later, then opens, a click,
        an unsubscribe, a spam report, hours to days later."""
        seed, msg_id, rates = self.seed, row["msg_id"], self.engagement
        sent = row["_sent_ms"]
        events: list[tuple[int, dict[str, Any]]] = [(sent, {"event_name": "processed"})]
        done = later(seed, sent, MINUTE_MS, 5 * MINUTE_MS, "email-done", msg_id)
        if undeliverable or draw(seed, "email-bounce", msg_id) < rates.email_bounce_share:
            hard = undeliverable or draw(seed, "email-hard", msg_id) < rates.email_hard_bounce_share
            kind = "hard" if hard else "soft"
            bounce = {"event_name": "bounced", "bounce_type": kind, "reason": BOUNCE_REASONS[kind]}
            row["_events"] = [*events, (done, bounce)]
            return
        events.append((done, {"event_name": "delivered"}))
        if draw(seed, "email-open", msg_id) < rates.email_open_share:
            opened = later(seed, done, HOUR_MS, 3 * DAY_MS, "email-open-at", msg_id)
            events.append((opened, {"event_name": "opened"}))
            again = opened
            for number in range(int(draw(seed, "email-reopens", msg_id) * 3)):
                again = later(seed, again, 10 * MINUTE_MS, DAY_MS, "email-reopen", msg_id, number)
                events.append((again, {"event_name": "opened"}))
            if draw(seed, "email-click", msg_id) < rates.email_click_share:
                clicked = later(seed, opened, MINUTE_MS, 30 * MINUTE_MS, "email-click-at", msg_id)
                url = links[0] if links else "https://www.example.com/"
                events.append((clicked, {"event_name": "clicked", "url": url}))
            done = opened
        for name, share in (
            ("unsubscribe", rates.email_unsubscribe_share),
            ("spam_report", rates.email_spam_report_share),
        ):
            if draw(seed, f"email-{name}", msg_id) < share:
                at = later(seed, done, 5 * MINUTE_MS, 2 * DAY_MS, f"email-{name}-at", msg_id)
                events.append((at, {"event_name": name}))
        row["_events"] = sorted(events, key=lambda event: event[0])


def current(row: dict[str, Any], now: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A recipient's activity row and its events as they stand at ``now``."""
    events = [(at, event) for at, event in row["_events"] if at <= now]
    names = [event["event_name"] for _, event in events]
    status = (
        "not_delivered"
        if "bounced" in names
        else "delivered"
        if "delivered" in names
        else "processed"
    )
    shown = {key: value for key, value in row.items() if not key.startswith("_")}
    shown.update(
        status=status,
        opens_count=names.count("opened"),
        clicks_count=names.count("clicked"),
        last_event_time=iso(events[-1][0]),
    )
    mx_server = "mx." + row["to_email"].rpartition("@")[2]
    return shown, [
        {
            **event,
            "processed": iso(at),
            "http_user_agent": USER_AGENT if event["event_name"] in ("opened", "clicked") else "",
            "mx_server": mx_server,
        }
        for at, event in events
    ]


def _service(request: Request) -> SendGridService:
    return request.app.state.providers["sendgrid"]


def _emails(value: Any, field: str, required: bool) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise MailError(
            f"The {field.rsplit('.', 1)[-1]} array must have at least one email.", field
        )
    found = []
    for index, item in enumerate(value):
        address = item.get("email") if isinstance(item, dict) else None
        if not isinstance(address, str) or not EMAIL.match(address):
            raise MailError("Does not contain a valid address.", f"{field}.{index}.email")
        found.append(address)
    return found


def _custom_args(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MailError("custom_args must be an object of strings.", field)
    for key, item in value.items():
        if not isinstance(item, str):
            kind = type(item).__name__
            raise MailError(f"Invalid type. Expected: string, given: {kind}.", f"{field}.{key}")
    return value


#: headers the spec says may not be overridden (mail/send ``headers``), lower case
RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "Content-Type",
        "Content-Transfer-Encoding",
        "To",
        "From",
        "Subject",
        "Reply-To",
        "CC",
        "BCC",
    )
)


def _headers(value: Any, field: str) -> dict[str, str]:
    """A ``headers`` object of the mail or a personalization: string values, none of the
    reserved names."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MailError("The headers parameter must be a valid JSON object.", field)
    for name, item in value.items():
        if name.lower() in RESERVED_HEADERS:
            raise MailError(f"The {name} header is reserved and may not be overridden.", field)
        if not isinstance(item, str):
            kind = type(item).__name__
            raise MailError(f"Invalid type. Expected: string, given: {kind}.", f"{field}.{name}")
    return value


def validate(mail: Any) -> list[dict[str, Any]]:
    """The personalizations of a valid mail send (custom args merged), or MailError."""
    if not isinstance(mail, dict):
        raise MailError("Bad Request", None)
    people = mail.get("personalizations")
    if not isinstance(people, list) or not people:
        raise MailError(
            "The personalizations field is required and must have at least one personalization.",
            "personalizations",
        )
    if len(people) > MAX_PERSONALIZATIONS:
        raise MailError(
            "The personalizations field may not have more than 1000 items.", "personalizations"
        )
    sender = mail.get("from")
    if not isinstance(sender, dict) or not EMAIL.match(str(sender.get("email", ""))):
        raise MailError(
            "The from object must be provided for every email send. It is an object that "
            "requires the email parameter, but may also contain a name parameter.",
            "from.email",
        )
    content = mail.get("content")
    if content is None and not mail.get("template_id"):
        raise MailError(
            "Unless a valid template_id is provided, the content parameter is required.",
            "content",
        )
    if content is not None:
        if not isinstance(content, list) or not content:
            raise MailError("There must be at least one defined content block.", "content")
        for index, block in enumerate(content):
            ok = isinstance(block, dict) and block.get("type") and block.get("value")
            if not ok:
                raise MailError("Each content block needs a type and a value.", f"content.{index}")
    shared_args = _custom_args(mail.get("custom_args"), "custom_args")
    shared_headers = _headers(mail.get("headers"), "headers")
    found, recipients = [], 0
    for index, person in enumerate(people):
        field = f"personalizations.{index}"
        if not isinstance(person, dict):
            raise MailError("Each personalization must be an object.", field)
        to = _emails(person.get("to"), f"{field}.to", required=True)
        cc = _emails(person.get("cc"), f"{field}.cc", required=False)
        bcc = _emails(person.get("bcc"), f"{field}.bcc", required=False)
        recipients += len(to) + len(cc) + len(bcc)
        args = {**shared_args, **_custom_args(person.get("custom_args"), f"{field}.custom_args")}
        if len(json.dumps(args).encode()) > MAX_CUSTOM_ARGS_BYTES:
            raise MailError("custom_args may not exceed 10,000 bytes.", f"{field}.custom_args")
        subject = person.get("subject") or mail.get("subject")
        if not subject and not mail.get("template_id"):
            raise MailError(
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject.",
                "subject",
            )
        headers = {**shared_headers, **_headers(person.get("headers"), f"{field}.headers")}
        found.append(
            {
                "to": to,
                "cc": cc,
                "bcc": bcc,
                "custom_args": args,
                "subject": subject,
                "headers": headers,
            }
        )
    if recipients > MAX_RECIPIENTS:
        raise MailError(
            "The total number of recipients (to, cc and bcc) must be at most 1000.",
            "personalizations",
        )
    return found


router = APIRouter(route_class=provider_route("sendgrid", PREFIX), tags=["sendgrid"])


def _guard(request: Request) -> tuple[SendGridService, dict[str, str], JSONResponse | None]:
    """The service, the rate-limit headers, and the refusal for bad auth or too many calls."""
    service = _service(request)
    headers, over = service.rate_headers()
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    refusal = None
    if scheme.lower() != "bearer" or not secrets.compare_digest(key, service.settings.api_key):
        refusal = JSONResponse(
            {"errors": [{"field": None, "message": "authorization required"}]}, 401
        )
    elif over:
        refusal = JSONResponse({"errors": [{"field": None, "message": "too many requests"}]}, 429)
    if refusal is not None:
        refusal.headers.update(headers)
    return service, headers, refusal


@router.post("/v3/mail/send")
async def mail_send(request: Request) -> Response:
    """Accept a mail: 202, no body, ``X-Message-Id``; one activity row per recipient."""
    service, headers, refusal = _guard(request)
    if refusal is not None:
        return refusal
    try:
        mail = json.loads(await request.body())
        people = validate(mail)
    except ValueError as exc:
        field = exc.field if isinstance(exc, MailError) else None
        message = str(exc) if isinstance(exc, MailError) else "Bad Request"
        response = errors((message, field), status=400)
        response.headers.update(headers)
        return response
    sandbox_mode = (mail.get("mail_settings") or {}).get("sandbox_mode") or {}
    if sandbox_mode.get("enable") is True:  # validated, not sent
        return Response(status_code=200, headers=headers)
    now = request.app.state.clock.now()
    sender = mail["from"]["email"]
    # who it goes to, its subject and custom args; not its content or headers, whose links
    # carry tokens signed with the sender's own secret
    envelope = [{key: person[key] for key in ENVELOPE} for person in people]
    message_id = service.new_message_id(sender, mail.get("template_id"), envelope)
    links = LINK.findall(json.dumps([mail.get("content"), mail["personalizations"]]))
    for index, person in enumerate(people):
        msg_ids = []
        for number, address in enumerate(person["to"] + person["cc"] + person["bcc"]):
            msg_id = f"{message_id}.filterdrecv-{index}-{number}-0"
            msg_ids.append(msg_id)
            row = {
                "from_email": sender,
                "msg_id": msg_id,
                "subject": person["subject"] or "",
                "to_email": address,
                "status": "processed",
                "opens_count": 0,
                "clicks_count": 0,
                "last_event_time": iso(now),
                "_unique_args": person["custom_args"],
                "_categories": mail.get("categories") or [],
                "_template_id": mail.get("template_id") or "",
                "_sent_ms": now,
            }
            undeliverable = address in service.settings.undeliverable_emails
            service.play(row, links, undeliverable)
            service.activity.append(row)
            service.by_msg_id[msg_id] = row
        service.record(
            {
                "x_message_id": message_id,
                "personalization": index,
                "msg_ids": msg_ids,
                "from": sender,
                **person,
                "template_id": mail.get("template_id"),
                "dynamic_template_data": mail["personalizations"][index].get(
                    "dynamic_template_data"
                ),
                "content": mail.get("content"),
                "categories": mail.get("categories"),
                "received_at": iso(now),
            }
        )
    return Response(status_code=202, headers={**headers, "X-Message-Id": message_id})


CONDITION = re.compile(
    r"""\s*(?P<field>msg_id|to_email|from_email|subject|status|unique_args\[(?P<q>['"])(?P<arg>[^'"]+)(?P=q)\])
        \s*(?P<op>=|LIKE)\s*(?P<quote>['"])(?P<value>.*?)(?P=quote)\s*""",
    re.IGNORECASE | re.VERBOSE,
)


BETWEEN = re.compile(
    r"""last_event_time\s+BETWEEN\s+TIMESTAMP\s*(?P<q1>['"])(?P<low>[^'"]*)(?P=q1)
        \s+AND\s+TIMESTAMP\s*(?P<q2>['"])(?P<high>[^'"]*)(?P=q2)""",
    re.IGNORECASE | re.VERBOSE,
)


def _instant(value: str) -> str:
    """An ISO 8601 timestamp with an offset as the sandbox's ISO form (sorts as time does)."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"give the time zone of TIMESTAMP {value!r}, e.g. Z")
    return iso(round(moment.timestamp() * 1000))


def parse_query(query: str) -> list[tuple[str, str | None, str, str]]:
    """``field = "v"`` / ``field LIKE 'v%'`` / ``last_event_time BETWEEN TIMESTAMP "t1" AND
    TIMESTAMP "t2"`` conditions joined by AND; ValueError otherwise."""
    conditions: list[tuple[str, str | None, str, str]] = []
    for match in BETWEEN.finditer(query):
        conditions.append(("last_event_time", None, ">=", _instant(match["low"])))
        conditions.append(("last_event_time", None, "<=", _instant(match["high"])))
    rest = BETWEEN.sub(" __between__ ", query).strip()
    for part in re.split(r"\s+AND\s+", rest, flags=re.IGNORECASE) if rest else []:
        if part.strip() == "__between__":
            continue
        match = CONDITION.fullmatch(part)
        if match is None:
            raise ValueError(f"invalid query near: {part[:60]}")
        field = "unique_args" if match["arg"] else match["field"].lower()
        conditions.append((field, match["arg"], match["op"].upper(), match["value"]))
    return conditions


def _holds(row: dict[str, Any], condition: tuple[str, str | None, str, str]) -> bool:
    field, arg, op, value = condition
    actual = row["_unique_args"].get(arg) if field == "unique_args" else row[field]
    if actual is None:
        return False
    if op == "=":
        return actual == value
    if op == ">=":
        return actual >= value
    if op == "<=":
        return actual <= value
    pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in value)
    return re.fullmatch(pattern, actual, re.DOTALL) is not None


@router.get("/v3/messages")
async def messages(request: Request) -> Response:
    """Email Activity: recipients' messages matching ``query``, newest first, ``limit`` rows."""
    service, headers, refusal = _guard(request)
    if refusal is not None:
        return refusal
    try:
        limit = int(request.query_params.get("limit", 10))
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be 1 to 1000")
        conditions = parse_query(request.query_params.get("query", ""))
    except ValueError as exc:
        response = JSONResponse({"errors": [{"field": "query", "message": str(exc)}]}, 400)
        response.headers.update(headers)
        return response
    found, now = [], request.app.state.clock.now()
    for row in reversed(service.activity):
        shown, _ = current(row, now)
        if all(_holds({**row, **shown}, condition) for condition in conditions):
            found.append(shown)
            if len(found) == limit:
                break
    return JSONResponse({"messages": found}, headers=headers)


@router.get("/v3/messages/{msg_id}")
async def message(msg_id: str, request: Request) -> Response:
    """One recipient's message with its custom args (``unique_args``), categories and the
    events whose time has come, oldest first."""
    service, headers, refusal = _guard(request)
    if refusal is not None:
        return refusal
    row = service.by_msg_id.get(msg_id)
    if row is None:
        return JSONResponse(
            {"errors": [{"field": "msg_id", "message": "message not found"}]}, 404, headers=headers
        )
    shown, events = current(row, request.app.state.clock.now())
    detail = {
        **shown,
        "template_id": row["_template_id"],
        "categories": row["_categories"],
        "unique_args": row["_unique_args"],
        **DETAIL_CONSTANTS,
        "events": events,
    }
    return JSONResponse(detail, headers=headers)


@router.post("/v3/recipients/erasejob", status_code=202)
async def erase_job(request: Request) -> Response:
    """The Recipients' Data Erasure API: ``{"email_addresses": [...]}``, 1 to 5,000 addresses
    (or 256 KB); 202 ``{"job_id"}``. The activity of those addresses is deleted (suppressions
    are another API: erasing data does not lift them)."""
    service, headers, refusal = _guard(request)
    if refusal is not None:
        return refusal
    body = await request.body()
    try:
        addresses = json.loads(body).get("email_addresses")
    except (ValueError, AttributeError):
        addresses = None
    valid = isinstance(addresses, list) and all(isinstance(a, str) for a in addresses)
    if not valid or not 0 < len(addresses) <= ERASE_MAX or len(body) > ERASE_MAX_BYTES:
        return errors(
            ("email_addresses must list 1 to 5,000 addresses (256 KB at most)", "email_addresses"),
            status=400,
        )
    erased = {address.lower() for address in addresses}
    service.activity = [row for row in service.activity if row["to_email"].lower() not in erased]
    service.by_msg_id = {
        msg_id: row
        for msg_id, row in service.by_msg_id.items()
        if row["to_email"].lower() not in erased
    }
    job_id = str(uuid.UUID(bytes=service.new_id(16, "erase", addresses)))
    service.erase_jobs.append({"job_id": job_id, "email_addresses": addresses})
    return JSONResponse({"job_id": job_id}, 202, headers=headers)


admin = admin_router("sendgrid")


@admin.get("/erase-jobs")
async def erase_jobs(request: Request) -> dict[str, Any]:
    """Every erase job asked, in order, with its addresses."""
    return {"data": _service(request).erase_jobs}


def install(
    app: FastAPI,
    settings: SendGridSettings,
    seed: int,
    engagement: EngagementSettings | None = None,
) -> None:
    """Mount a fresh sandbox SendGrid account on ``app``."""
    app.state.providers["sendgrid"] = SendGridService(settings, seed, engagement)
    app.include_router(router, prefix=PREFIX)
    app.include_router(admin, prefix=ADMIN_PREFIX)
