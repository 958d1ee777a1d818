"""Sandbox SendGrid v3: Mail Send and the Email Activity feed, under ``/sendgrid``
(docs/sandbox-providers.md, "SendGrid")."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from aftercare.sandbox.clock import iso
from aftercare.sandbox.faults import Provider, ProviderFaults, admin_router, provider_route

PREFIX = "/sendgrid"
ADMIN_PREFIX = "/sandbox/sendgrid"
MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
MAX_CUSTOM_ARGS_BYTES = 10_000
HELP = {"url": "https://www.twilio.com/docs/sendgrid/api-reference/mail-send/errors"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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

    def __init__(self, settings: SendGridSettings, seed: int) -> None:
        super().__init__("sendgrid", settings.faults, seed, 21, _fault)
        self.settings = settings
        self._ids = np.random.default_rng([seed, 22])
        self.activity: list[dict[str, Any]] = []
        self._window, self._used = 0, 0

    def new_message_id(self) -> str:
        return base64.urlsafe_b64encode(self._ids.bytes(16)).decode().rstrip("=")

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
        found.append({"to": to, "cc": cc, "bcc": bcc, "custom_args": args, "subject": subject})
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
    message_id = service.new_message_id()
    sender = mail["from"]["email"]
    for index, person in enumerate(people):
        msg_ids = []
        for number, address in enumerate(person["to"] + person["cc"] + person["bcc"]):
            msg_id = f"{message_id}.filterdrecv-{index}-{number}-0"
            msg_ids.append(msg_id)
            delivered = address not in service.settings.undeliverable_emails
            service.activity.append(
                {
                    "from_email": sender,
                    "msg_id": msg_id,
                    "subject": person["subject"] or "",
                    "to_email": address,
                    "status": "delivered" if delivered else "not_delivered",
                    "opens_count": 0,
                    "clicks_count": 0,
                    "last_event_time": iso(now),
                    "_unique_args": person["custom_args"],
                }
            )
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


def parse_query(query: str) -> list[tuple[str, str | None, str, str]]:
    """``field = "v"`` / ``field LIKE 'v%'`` conditions joined by AND; ValueError otherwise."""
    conditions = []
    for part in re.split(r"\s+AND\s+", query.strip(), flags=re.IGNORECASE):
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
    found = []
    for row in reversed(service.activity):
        if all(_holds(row, condition) for condition in conditions):
            found.append({key: value for key, value in row.items() if not key.startswith("_")})
            if len(found) == limit:
                break
    return JSONResponse({"messages": found}, headers=headers)


admin = admin_router("sendgrid")


def install(app: FastAPI, settings: SendGridSettings, seed: int) -> None:
    """Mount a fresh sandbox SendGrid account on ``app``."""
    app.state.providers["sendgrid"] = SendGridService(settings, seed)
    app.include_router(router, prefix=PREFIX)
    app.include_router(admin, prefix=ADMIN_PREFIX)
