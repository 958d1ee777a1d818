"""Sandbox review platform, Trustpilot-style: client-credentials tokens and invitation links,
under ``/trustpilot`` (docs/sandbox-providers.md, "Trustpilot")."""

from __future__ import annotations

import base64
import binascii
import bisect
import re
import secrets
import time
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from sandbox.clock import iso
from sandbox.engagement import DAY_MS, EngagementSettings, draw, hex_id, later
from sandbox.faults import Provider, ProviderFaults, admin_router, provider_route

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


#: Stars of reviews: mostly 4 and 5 (cumulative shares of 1, 2, 3, 4 stars; the rest are 5).
STARS = ((0.04, 1), (0.08, 2), (0.18, 3), (0.45, 4))
REVIEW_WORDS = {
    1: (("Disappointing", "Nobody followed up after I started."),),
    2: (("Could be better", "The placement was fine but communication was slow."),),
    3: (("OK experience", "Got the job, some ups and downs along the way."),),
    4: (
        ("Good agency", "Helpful recruiter who kept in touch after I started."),
        ("Very helpful", "Found me a role quickly and checked in after the first weeks."),
    ),
    5: (
        ("Brilliant support", "They found me a great job and still check in on me."),
        ("Highly recommend", "Friendly, quick and they really care after the placement."),
        ("Excellent", "Best agency I have worked with, great aftercare."),
    ),
}
MAX_PER_PAGE = 100


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
        self.tokens: dict[str, float] = {}
        self.seed = seed
        self.engagement = EngagementSettings()
        #: Every review, including those to come, in (createdAt, id) order, and their keys.
        self.reviews: list[dict[str, Any]] = []
        self._keys: list[tuple[str, str]] = []

    def play(self, link: dict[str, Any], created_ms: int) -> None:
        """Decide whether an invitation link turns into a review, 1-10 days later."""
        seed, link_id = self.seed, link["id"]
        if draw(seed, "review", link_id) >= self.engagement.review_share:
            return
        roll = draw(seed, "review-stars", link_id)
        stars = next((value for edge, value in STARS if roll < edge), 5)
        title, text = REVIEW_WORDS[stars][
            int(draw(seed, "review-words", link_id) * len(REVIEW_WORDS[stars]))
        ]
        words = str(link.get("name", "")).split()
        display = f"{words[0]} {words[-1][0]}." if len(words) > 1 else (words or ["Customer"])[0]
        created = later(seed, created_ms, DAY_MS, 10 * DAY_MS, "review-at", link_id)
        review = {
            "id": hex_id(seed, 12, "review", link_id),
            "stars": stars,
            "title": title,
            "text": text,
            "createdAt": iso(created),
            "referenceId": link["referenceId"],
            "consumer": {"displayName": display},
        }
        key = (review["createdAt"], review["id"])
        position = bisect.bisect(self._keys, key)
        self._keys.insert(position, key)
        self.reviews.insert(position, review)


router = APIRouter(route_class=provider_route("trustpilot", PREFIX), tags=["trustpilot"])


def _service(request: Request) -> TrustpilotService:
    return request.app.state.providers["trustpilot"]


def _refusal(
    service: TrustpilotService, request: Request, business_unit_id: str
) -> Response | None:
    """The answer to a business-unit call without a live bearer token (401) or for another
    business unit (404); None when it may go ahead."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or service.tokens.get(token, 0) < time.time():
        return JSONResponse(INVALID_TOKEN, 401)
    if business_unit_id != service.settings.business_unit_id:
        return JSONResponse({"message": "Business unit not found"}, 404)
    return None


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
    if (refusal := _refusal(service, request, business_unit_id)) is not None:
        return refusal
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
    link_id = service.new_id(16, business_unit_id, body).hex()
    link = {"id": link_id, "url": f"https://www.trustpilot.com/evaluate-link/{link_id}"}
    now = request.app.state.clock.now()
    service.record({**body, "businessUnitId": business_unit_id, **link, "received_at": iso(now)})
    service.play({**body, **link}, now)
    return JSONResponse(link)


@router.get("/v1/private/business-units/{business_unit_id}/reviews")
async def reviews(business_unit_id: str, request: Request) -> Response:
    """The business unit's reviews whose time has come, oldest first, from ``startDateTime``,
    ``perPage`` (1-100, default 20) on page ``page`` (from 1), with a ``next-page`` link."""
    service = _service(request)
    if (refusal := _refusal(service, request, business_unit_id)) is not None:
        return refusal
    params = request.query_params
    try:
        per_page, page = int(params.get("perPage", 20)), int(params.get("page", 1))
        start = params.get("startDateTime")
        since = datetime.fromisoformat(start) if start else None
        if since is not None and since.tzinfo is None:
            raise ValueError("startDateTime needs a time zone")
    except ValueError:
        return JSONResponse({"message": "Invalid perPage, page or startDateTime"}, 400)
    if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
        return JSONResponse({"message": "perPage must be 1 to 100, page at least 1"}, 400)
    now = iso(request.app.state.clock.now())
    low = iso(round(since.timestamp() * 1000)) if since else ""
    first = bisect.bisect_left(service._keys, (low, ""))
    visible = [review for review in service.reviews[first:] if review["createdAt"] <= now]
    rows = visible[(page - 1) * per_page : page * per_page]
    links = []
    if page * per_page < len(visible):
        query = [("perPage", per_page), ("page", page + 1)] + (
            [("startDateTime", start)] * bool(start)
        )
        href = f"{str(request.base_url).rstrip('/')}{request.url.path}?{urlencode(query)}"
        links.append({"rel": "next-page", "href": href, "method": "GET"})
    return JSONResponse({"reviews": rows, "links": links})


admin = admin_router("trustpilot")


def install(
    app: FastAPI,
    settings: TrustpilotSettings,
    seed: int,
    engagement: EngagementSettings | None = None,
) -> None:
    """Mount a fresh sandbox Trustpilot business on ``app``."""
    app.state.providers["trustpilot"] = TrustpilotService(settings, seed)
    app.state.providers["trustpilot"].engagement = engagement or EngagementSettings()
    app.include_router(router, prefix=PREFIX)
    app.include_router(admin, prefix=ADMIN_PREFIX)
