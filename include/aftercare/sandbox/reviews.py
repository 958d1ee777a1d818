"""Sandbox review platform, Trustpilot-style: client-credentials tokens and invitation links,
under ``/trustpilot`` (docs/sandbox-providers.md, "Trustpilot")."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
from typing import Literal
from urllib.parse import parse_qsl

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from aftercare.sandbox.clock import iso
from aftercare.sandbox.faults import Provider, ProviderFaults, admin_router, provider_route

PREFIX = "/trustpilot"
ADMIN_PREFIX = "/sandbox/trustpilot"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LOCALE = re.compile(r"^[a-z]{2}-[A-Z]{2}$")
INVALID_TOKEN = {
    "fault": {
        "faultstring": "Invalid access token",
        "detail": {"errorcode": "oauth.v2.InvalidAccessToken"},
    }
}


class TrustpilotSettings(BaseModel):
    """The sandbox Trustpilot business: API key and secret, business unit, token life, faults."""

    model_config = ConfigDict(extra="forbid")

    api_key: str = "sandbox-trustpilot-api-key"
    api_secret: str = "sandbox-trustpilot-api-secret"  # noqa: S105 - the published secret
    business_unit_id: str = Field("5a4d1b0c0ffee00000000042", pattern=r"^[0-9a-f]{24}$")
    access_token_ttl_seconds: float = Field(359_999, gt=0)
    faults: ProviderFaults = ProviderFaults()


def _fault(kind: Literal["429", "500"]) -> Response:
    if kind == "429":
        return JSONResponse({"message": "Too many requests"}, 429)
    return JSONResponse({"message": "Internal server error"}, 500)


class TrustpilotService(Provider):
    def __init__(self, settings: TrustpilotSettings, seed: int) -> None:
        super().__init__("trustpilot", settings.faults, seed, 41, _fault)
        self.settings = settings
        self._ids = np.random.default_rng([seed, 42])
        self.tokens: dict[str, float] = {}


router = APIRouter(route_class=provider_route("trustpilot", PREFIX), tags=["trustpilot"])


def _service(request: Request) -> TrustpilotService:
    return request.app.state.providers["trustpilot"]


@router.post("/v1/oauth/oauth-business-users-for-applications/accesstoken")
async def access_token(request: Request) -> Response:
    """Client credentials (Basic base64(key:secret), ``grant_type=client_credentials``)."""
    service = _service(request)
    settings = service.settings
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        key, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        key = secret = ""
    good = (
        scheme.lower() == "basic"
        and secrets.compare_digest(key, settings.api_key)
        and secrets.compare_digest(secret, settings.api_secret)
    )
    if not good:
        return JSONResponse({"ErrorCode": "invalid_client", "Error": "ClientId is Invalid"}, 401)
    form = dict(parse_qsl((await request.body()).decode(errors="replace")))
    if form.get("grant_type") != "client_credentials":
        return JSONResponse(
            {"ErrorCode": "invalid_request", "Error": "Unsupported grant type"}, 400
        )
    token = secrets.token_urlsafe(24)
    ttl = settings.access_token_ttl_seconds
    service.tokens[token] = time.time() + ttl
    return JSONResponse(
        {
            "access_token": token,
            "token_type": "BearerToken",
            "expires_in": str(int(ttl)),
            "issued_at": str(request.app.state.clock.now()),
            "client_id": settings.api_key,
            "status": "approved",
        }
    )


@router.post("/v1/private/business-units/{business_unit_id}/invitation-links")
async def invitation_link(business_unit_id: str, request: Request) -> Response:
    """A review invitation link for one consumer: ``{"id", "url"}``."""
    service = _service(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or service.tokens.get(token, 0) < time.time():
        return JSONResponse(INVALID_TOKEN, 401)
    if business_unit_id != service.settings.business_unit_id:
        return JSONResponse({"message": "Business unit not found"}, 404)
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"message": "The body is not JSON"}, 400)
    if not isinstance(body, dict):
        return JSONResponse({"message": "The body must be an object"}, 400)
    problems = []
    if not isinstance(body.get("referenceId"), str) or not body["referenceId"]:
        problems.append("referenceId is required")
    if not isinstance(body.get("email"), str) or not EMAIL.match(body["email"]):
        problems.append("email must be a valid email address")
    if not isinstance(body.get("name"), str) or not body["name"]:
        problems.append("name is required")
    if not LOCALE.match(str(body.get("locale", "en-US"))):
        problems.append("locale must look like en-GB")
    tags = body.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        problems.append("tags must be a list of strings")
    if problems:
        return JSONResponse({"message": "Invalid request", "details": "; ".join(problems)}, 400)
    link_id = service._ids.bytes(16).hex()
    link = {"id": link_id, "url": f"https://www.trustpilot.com/evaluate-link/{link_id}"}
    now = request.app.state.clock.now()
    service.record({**body, "businessUnitId": business_unit_id, **link, "received_at": iso(now)})
    return JSONResponse(link)


admin = admin_router("trustpilot")


def install(app: FastAPI, settings: TrustpilotSettings, seed: int) -> None:
    """Mount a fresh sandbox Trustpilot business on ``app``."""
    app.state.providers["trustpilot"] = TrustpilotService(settings, seed)
    app.include_router(router, prefix=PREFIX)
    app.include_router(admin, prefix=ADMIN_PREFIX)
