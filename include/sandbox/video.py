"""Sandbox Sendspark: dynamic video campaigns under ``/sendspark``, as docs/sandbox-providers.md
("Sendspark") says the real API is: ``x-api-key`` + ``x-api-secret``, a workspace id in every
path, prospects added one at a time or in bulk and identified by their ``contactEmail`` within
a campaign, rendered asynchronously (``render_seconds`` on the sandbox clock), every endpoint
held to ``requests_per_minute`` and the bulk endpoint to ``bulk_per_minute`` (429 with
Retry-After, on the sandbox clock), and each prospect's webhook events POSTed to its
``webhookUrl`` (video_generated_dv / video_generated_error when the render is done, then its
simulated viewer's video_viewed, video_watched and video_cta_clicked) when
``POST /sandbox/sendspark/webhooks/deliver`` finds their time has come on the clock.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import secrets
from collections import deque
from typing import Any, Literal

import requests
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from sandbox.clock import iso
from sandbox.engagement import DAY_MS, HOUR_MS, MINUTE_MS, EngagementSettings, draw, later
from sandbox.faults import Provider, ProviderFaults, admin_router, provider_route

PREFIX = "/sendspark"
ADMIN_PREFIX = "/sandbox/sendspark"
MILESTONES = (
    "first_day",
    "check_in",
    "review_request",
    "referral_ask",
    "work_anniversary",
    "birthday",
    "availability_check",
)
PROSPECT_FIELDS = (
    "contactName",
    "contactEmail",
    "company",
    "jobTitle",
    "backgroundUrl",
    "webhookUrl",
    "webhookEvents",
)
MAX_BULK = 10_000


class SendsparkSettings(BaseModel):
    """The sandbox workspace: credentials, its campaigns (one per milestone), the render delay
    and the limits, faults."""

    model_config = ConfigDict(extra="forbid")

    workspace: str = "ws_sandbox"
    api_key: str = "sandbox-sendspark-api-key"
    api_secret: str = "sandbox-sendspark-api-secret"  # noqa: S105 - the published secret
    campaigns: list[str] = list(MILESTONES)
    share_base_url: str = "https://sendspark.sandbox.example/share"
    render_seconds: int = Field(600, ge=0)
    #: renders that fail (video_generated_error)
    render_failure_share: float = Field(0.0, ge=0, le=1)
    requests_per_minute: int = Field(30, ge=1)
    bulk_per_minute: int = Field(1, ge=1)
    faults: ProviderFaults = ProviderFaults()


def sendspark_error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"statusCode": status, "error": error, "message": message}, status)


def _fault(kind: Literal["429", "500"]) -> Response:
    if kind == "429":
        return sendspark_error(429, "Too Many Requests", "Rate limit exceeded")
    return sendspark_error(500, "Internal Server Error", "Internal Server Error")


class SendsparkService(Provider):
    def __init__(
        self, settings: SendsparkSettings, seed: int, engagement: EngagementSettings | None = None
    ) -> None:
        super().__init__("sendspark", settings.faults, seed, 31, _fault)
        self.settings, self.seed = settings, seed
        self.engagement = engagement or EngagementSettings()
        #: (campaign, lower-cased email) -> prospect
        self.prospects: dict[tuple[str, str], dict[str, Any]] = {}
        #: the webhooks to POST, in (at, order) order: (at ms, order, url, payload)
        self.webhooks: list[tuple[int, int, str, dict[str, Any]]] = []
        #: every API call that reached the limits check: {"at": ms, "endpoint", "status"}
        self.log: list[dict[str, Any]] = []
        self._windows: dict[str, deque[int]] = {"calls": deque(), "bulk": deque()}
        self._scheduled = 0  # the order of webhooks due at one instant

    def limited(self, kind: str, now: int) -> int | None:
        """Seconds to wait when ``kind`` (calls, bulk) is over its limit at ``now``; else the
        call takes its place in the window and None."""
        window = self._windows[kind]
        limit = (
            self.settings.bulk_per_minute if kind == "bulk" else self.settings.requests_per_minute
        )
        while window and window[0] <= now - MINUTE_MS:
            window.popleft()
        if len(window) >= limit:
            return max(1, math.ceil((window[0] + MINUTE_MS - now) / 1000))
        window.append(now)
        return None

    def add(self, campaign: str, body: dict[str, Any], now: int) -> dict[str, Any]:
        """The campaign's prospect of the body's email: the one there, else a new one whose
        render is done ``render_seconds`` later (not deduplicated further: an email is unique
        within a campaign)."""
        key = (campaign, body["contactEmail"].lower())
        if key in self.prospects:
            return self.prospects[key]
        prospect_id = self.new_id(12, *key).hex()
        ready_at = now + self.settings.render_seconds * 1000
        prospect = {
            "id": prospect_id,
            "campaign": campaign,
            **{name: body.get(name) for name in PROSPECT_FIELDS},
            "status": "processing",
            "createdAt": iso(now),
            "readyAt": ready_at,
            "shareUrl": None,
        }
        self.prospects[key] = prospect
        self.record({"id": prospect_id, "campaign": campaign, "at": iso(now)})
        failed = draw(self.seed, "sendspark-fail", prospect_id) < self.settings.render_failure_share
        self._schedule(
            prospect, ready_at, "video_generated_error" if failed else "video_generated_dv"
        )
        if not failed:
            self._play(prospect, ready_at)
        return prospect

    def _schedule(self, prospect: dict[str, Any], at: int, event: str, **extra: Any) -> None:
        if not prospect["webhookUrl"] or event not in (prospect["webhookEvents"] or [event]):
            return
        self._scheduled += 1
        item = (
            at,
            self._scheduled,
            prospect["webhookUrl"],
            {
                "event": event,
                "createdAt": iso(at),
                "dynamicId": prospect["campaign"],
                "prospectId": prospect["id"],
                **extra,
            },
        )
        bisect.insort(self.webhooks, item, key=lambda w: (w[0], w[1]))

    def _play(self, prospect: dict[str, Any], ready_at: int) -> None:
        """The prospect's simulated viewer: none, or a view 1 h-4 days after the render, how
        far it was watched, maybe a click on the call to action."""
        seed, pid = self.seed, prospect["id"]
        if draw(seed, "video-view", pid) >= self.engagement.video_view_share:
            return
        at = later(seed, ready_at, HOUR_MS, 4 * DAY_MS, "video-view-at", pid)
        self._schedule(prospect, at, "video_viewed")
        percentage = 25 * (1 + int(draw(seed, "video-watched", pid) * 4))
        self._schedule(prospect, at + 30_000, "video_watched", percentage=percentage)
        if percentage == 100 and draw(seed, "video-cta", pid) < 0.5:
            self._schedule(prospect, at + 60_000, "video_cta_clicked")

    def ready(self, now: int) -> None:
        for prospect in self.prospects.values():
            if prospect["status"] == "processing" and prospect["readyAt"] <= now:
                failed = draw(self.seed, "sendspark-fail", prospect["id"])
                if failed < self.settings.render_failure_share:
                    prospect["status"] = "errored"
                else:
                    prospect["status"] = "completed"
                    prospect["shareUrl"] = f"{self.settings.share_base_url}/{prospect['id']}"

    def due(self, now: int) -> list[tuple[str, dict[str, Any]]]:
        """The webhooks whose time has come (taken off the queue), with their links."""
        self.ready(now)
        position = bisect.bisect(self.webhooks, (now, math.inf), key=lambda w: (w[0], w[1]))
        due, self.webhooks = self.webhooks[:position], self.webhooks[position:]
        found = []
        for _, _, url, payload in due:
            share = f"{self.settings.share_base_url}/{payload['prospectId']}"
            if payload["event"] != "video_generated_error":
                payload = {
                    **payload,
                    "shareUrl": share,
                    "embedUrl": f"{share}/embed",
                    "thumbnailUrl": f"{share}/thumbnail.gif",
                }
            found.append((url, payload))
        return found

    def view(self, prospect: dict[str, Any]) -> dict[str, Any]:
        """A prospect as ``GET .../prospects/{contactEmail}`` answers it."""
        keys = ("id", "contactName", "contactEmail", "company", "jobTitle", "status", "shareUrl")
        return {key: prospect[key] for key in keys} | {"createdAt": prospect["createdAt"]}


def _guard(request: Request, workspace: str, bulk: bool) -> SendsparkService | Response:
    service: SendsparkService = request.app.state.providers["sendspark"]
    settings = service.settings
    key = request.headers.get("x-api-key", "")
    secret = request.headers.get("x-api-secret", "")
    if not (
        secrets.compare_digest(key, settings.api_key)
        and secrets.compare_digest(secret, settings.api_secret)
    ):
        return sendspark_error(401, "Unauthorized", "Missing or invalid API key or secret")
    if workspace != settings.workspace:
        return sendspark_error(404, "Not Found", "Resource not found or invalid access")
    now = request.app.state.clock.now()
    wait = service.limited("bulk" if bulk else "calls", now)
    endpoint = request.url.path.rsplit("/", 1)[-1] if bulk else request.method
    service.log.append({"at": now, "endpoint": "bulk" if bulk else endpoint, "status": 200})
    if wait is not None:
        service.log[-1]["status"] = 429
        response = sendspark_error(429, "Too Many Requests", "Rate limit exceeded")
        response.headers["Retry-After"] = str(wait)
        return response
    return service


def _campaign(service: SendsparkService, campaign: str) -> Response | None:
    if campaign not in service.settings.campaigns:
        return sendspark_error(404, "Not Found", "Resource not found or invalid access")
    return None


def _invalid(body: Any) -> str | None:
    """Why a prospect's body is refused (None: it is not)."""
    if not isinstance(body, dict):
        return "a prospect must be an object"
    email = body.get("contactEmail")
    if not isinstance(email, str) or "@" not in email:
        return "contactEmail: Invalid email"
    unknown = sorted(set(body) - set(PROSPECT_FIELDS))
    if unknown:
        return f"{unknown[0]}: not allowed"
    return None


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


router = APIRouter(route_class=provider_route("sendspark", PREFIX), tags=["sendspark"])
BASE = "/v1/workspaces/{workspace}/dynamics/{campaign}"


@router.post(f"{BASE}/prospect")
async def add_prospect(request: Request, workspace: str, campaign: str) -> Response:
    """Add a prospect to a campaign and process its video: the campaign's prospect of that
    email, new or already there."""
    service = _guard(request, workspace, bulk=False)
    if isinstance(service, Response):
        return service
    if refused := _campaign(service, campaign):
        return refused
    body = await _json(request)
    prospect = body.get("prospect") if isinstance(body, dict) else None
    if why := _invalid(prospect):
        return sendspark_error(400, "Bad Request", why)
    made = service.add(campaign, prospect, request.app.state.clock.now())  # type: ignore[arg-type]
    return JSONResponse(
        {"_id": campaign, "status": "pending", "prospectList": [service.view(made)]}
    )


@router.post(f"{BASE}/prospects/bulk")
async def add_prospects(request: Request, workspace: str, campaign: str) -> Response:
    """Bulk add and process prospects (1 to 10,000); an email already in the campaign is
    kept as it is."""
    service = _guard(request, workspace, bulk=True)
    if isinstance(service, Response):
        return service
    if refused := _campaign(service, campaign):
        return refused
    body = await _json(request)
    prospects = body.get("prospectList") if isinstance(body, dict) else None
    if not isinstance(prospects, list) or not 1 <= len(prospects) <= MAX_BULK:
        return sendspark_error(400, "Bad Request", "prospectList: 1 to 10000 prospects")
    for prospect in prospects:
        if why := _invalid(prospect):
            return sendspark_error(400, "Bad Request", why)
    now = request.app.state.clock.now()
    made = [service.view(service.add(campaign, p, now)) for p in prospects]
    return JSONResponse({"_id": campaign, "status": "pending", "prospectList": made})


@router.get(f"{BASE}/prospects/{{email}}")
async def find_prospect(request: Request, workspace: str, campaign: str, email: str) -> Response:
    """The campaign's prospect of ``email``: its status and, once rendered, its share URL."""
    service = _guard(request, workspace, bulk=False)
    if isinstance(service, Response):
        return service
    if refused := _campaign(service, campaign):
        return refused
    service.ready(request.app.state.clock.now())
    prospect = service.prospects.get((campaign, email.lower()))
    if prospect is None:
        return sendspark_error(404, "Not Found", "Resource not found or invalid access")
    return JSONResponse(service.view(prospect))


admin = admin_router("sendspark")


@admin.get("/calls")
async def calls(request: Request) -> dict[str, Any]:
    """Every API call that reached the limits, with its time on the sandbox clock (ms)."""
    return {"data": request.app.state.providers["sendspark"].log}


def _post(url: str, payload: dict[str, Any]) -> int:
    try:
        return requests.post(url, json=payload, timeout=10).status_code
    except requests.RequestException:
        return 0


@admin.post("/webhooks/deliver")
async def deliver(request: Request) -> dict[str, Any]:
    """POST every webhook whose time has come on the clock to its prospect's webhookUrl; the
    answers' statuses counted (0: no answer). One that fails is not sent again."""
    service: SendsparkService = request.app.state.providers["sendspark"]
    due = service.due(request.app.state.clock.now())
    statuses = [await asyncio.to_thread(_post, url, payload) for url, payload in due]
    return {"delivered": len(due), "statuses": {str(s): statuses.count(s) for s in set(statuses)}}


def install(
    app: FastAPI,
    settings: SendsparkSettings,
    seed: int,
    engagement: EngagementSettings | None = None,
) -> None:
    """Mount a fresh sandbox Sendspark on ``app``."""
    app.state.providers["sendspark"] = SendsparkService(settings, seed, engagement)
    app.include_router(router, prefix=PREFIX)
    app.include_router(admin, prefix=ADMIN_PREFIX)
