"""Sandbox video platform: personalised shares of pre-recorded videos, under ``/video``. Our own
generic contract (docs/sandbox-providers.md, "Video platform"), shaped like the real platforms'."""

from __future__ import annotations

import bisect
import re
import secrets
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from sandbox.clock import iso
from sandbox.engagement import (
    DAY_MS,
    HOUR_MS,
    EngagementSettings,
    draw,
    hex_id,
    later,
)
from sandbox.faults import Provider, ProviderFaults, admin_router, provider_route

PREFIX = "/video"
ADMIN_PREFIX = "/sandbox/video"
MILESTONES = (
    "first_day",
    "check_in",
    "review_request",
    "referral_ask",
    "work_anniversary",
    "birthday",
    "availability_check",
)
SHARE_FIELDS = ("video_id", "reference", "first_name", "job_title", "company")
MAX_VIEWS_PAGE = 1000
CURSOR = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\|view_[0-9a-f]{24}$")


class VideoSettings(BaseModel):
    """The sandbox video account: API key, the pre-recorded videos, faults."""

    model_config = ConfigDict(extra="forbid")

    api_key: str = "sandbox-video-api-key"
    videos: list[str] = list(MILESTONES)
    share_base_url: str = "https://video.sandbox.example/s"
    faults: ProviderFaults = ProviderFaults()


def video_error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "field": field}}, status)


def _fault(kind: Literal["429", "500"]) -> Response:
    if kind == "429":
        return video_error(429, "rate_limited", "Too many requests", None)
    return video_error(500, "internal_error", "Internal server error", None)


class VideoService(Provider):
    def __init__(
        self, settings: VideoSettings, seed: int, engagement: EngagementSettings | None = None
    ) -> None:
        super().__init__("video", settings.faults, seed, 31, _fault)
        self.settings, self.seed = settings, seed
        self.engagement = engagement or EngagementSettings()
        self._ids = np.random.default_rng([seed, 32])
        #: Every view, including those to come, in (viewed_at, id) order, and their sort keys.
        self.views: list[dict[str, Any]] = []
        self._keys: list[tuple[str, str]] = []

    def new_id(self) -> str:
        return "shr_" + self._ids.bytes(12).hex()

    def play(self, share: dict[str, Any], created_ms: int) -> None:
        """Decide who watches a share: none, or one view 1 h-4 days after it was made, and for
        a repeat share one or two more, 1 h-3 days apart."""
        seed, share_id, rates = self.seed, share["id"], self.engagement
        if draw(seed, "video-view", share_id) >= rates.video_view_share:
            return
        count = 1
        if draw(seed, "video-repeat", share_id) < rates.video_repeat_view_share:
            count += 1 + int(draw(seed, "video-repeats", share_id) * 2)
        at = later(seed, created_ms, HOUR_MS, 4 * DAY_MS, "video-view-at", share_id)
        for number in range(count):
            if number:
                at = later(seed, at, HOUR_MS, 3 * DAY_MS, "video-view-at", share_id, number)
            view = {
                "id": "view_" + hex_id(seed, 12, "video-view", share_id, number),
                "share_id": share_id,
                "reference": share["reference"],
                "viewed_at": iso(at),
                "seconds_watched": 5 + int(draw(seed, "video-seconds", share_id, number) * 116),
            }
            key = (view["viewed_at"], view["id"])
            position = bisect.bisect(self._keys, key)
            self._keys.insert(position, key)
            self.views.insert(position, view)

    def page(self, after: tuple[str, str] | None, limit: int, now: str) -> list[dict[str, Any]]:
        """Up to ``limit`` views after the cursor ``after`` whose time (``now``, ISO) has come."""
        start = bisect.bisect(self._keys, after) if after else 0
        found = []
        for view in self.views[start:]:
            if view["viewed_at"] > now or len(found) == limit:
                break
            found.append(view)
        return found


def _guard(request: Request) -> VideoService | JSONResponse:
    service: VideoService = request.app.state.providers["video"]
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(key, service.settings.api_key):
        return video_error(401, "unauthorized", "A valid API key is required (Bearer).")
    return service


router = APIRouter(route_class=provider_route("video", PREFIX), tags=["video"])


@router.post("/v1/shares")
async def create_share(request: Request) -> Response:
    """A personalised share of a video: 201 with its URL. Not idempotent."""
    service = _guard(request)
    if isinstance(service, JSONResponse):
        return service
    try:
        body = await request.json()
    except ValueError:
        return video_error(400, "invalid_request", "The body is not JSON.")
    if not isinstance(body, dict):
        return video_error(400, "invalid_request", "The body must be an object.")
    for name in SHARE_FIELDS:
        value = body.get(name)
        required = name in ("video_id", "reference", "first_name")
        if (required and not value) or (value is not None and not isinstance(value, str)):
            return video_error(
                400,
                "invalid_request",
                f"'{name}' must be a string{' (required)' * required}.",
                name,
            )
    unknown = sorted(set(body) - set(SHARE_FIELDS))
    if unknown:
        return video_error(400, "invalid_request", f"Unknown field '{unknown[0]}'.", unknown[0])
    if body["video_id"] not in service.settings.videos:
        return video_error(404, "not_found", f"No video '{body['video_id']}'.", "video_id")
    share_id = service.new_id()
    share = {
        "id": share_id,
        "reference": body["reference"],
        "video_id": body["video_id"],
        "url": f"{service.settings.share_base_url}/{share_id}",
        "created_at": iso(request.app.state.clock.now()),
    }
    service.record({**share, "personalisation": {k: body.get(k) for k in SHARE_FIELDS[2:]}})
    service.play(share, request.app.state.clock.now())
    return JSONResponse(share, 201)


@router.get("/v1/shares")
async def list_shares(request: Request) -> Response:
    """Shares made for a reference (``?reference=``), oldest first: for reconciliation."""
    service = _guard(request)
    if isinstance(service, JSONResponse):
        return service
    reference = request.query_params.get("reference")
    if not reference:
        return video_error(400, "invalid_request", "'reference' is required.", "reference")
    keys = ("id", "reference", "video_id", "url", "created_at")
    data = [
        {key: share[key] for key in keys}
        for share in service.received
        if share["reference"] == reference
    ]
    return JSONResponse({"data": data})


@router.get("/v1/videos")
async def list_videos(request: Request) -> Response:
    """The pre-recorded videos that can be shared."""
    service = _guard(request)
    if isinstance(service, JSONResponse):
        return service
    data: list[dict[str, Any]] = [
        {"id": video, "title": video.replace("_", " ").capitalize()}
        for video in service.settings.videos
    ]
    return JSONResponse({"data": data})


@router.get("/v1/views")
async def list_views(request: Request) -> Response:
    """Views of the shares whose time has come, in (viewed_at, id) order, after the opaque
    cursor ``after`` (from the start without), ``limit`` (1-1000, default 100) at a time."""
    service = _guard(request)
    if isinstance(service, JSONResponse):
        return service
    params = request.query_params
    try:
        limit = int(params.get("limit", 100))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_VIEWS_PAGE:
        return video_error(400, "invalid_request", "'limit' must be 1 to 1000.", "limit")
    after = params.get("after")
    if after is not None and not CURSOR.match(after):
        return video_error(400, "invalid_request", "'after' is not a cursor of ours.", "after")
    cursor = tuple(after.split("|")) if after else None
    now = iso(request.app.state.clock.now())
    data = service.page(cursor, limit, now)  # type: ignore[arg-type]
    # after the last view returned (null: none): the poll that follows, now or later, starts there
    following = f"{data[-1]['viewed_at']}|{data[-1]['id']}" if data else None
    return JSONResponse({"data": data, "next": following})


admin = admin_router("video")


def install(
    app: FastAPI, settings: VideoSettings, seed: int, engagement: EngagementSettings | None = None
) -> None:
    """Mount a fresh sandbox video platform on ``app``."""
    app.state.providers["video"] = VideoService(settings, seed, engagement)
    app.include_router(router, prefix=PREFIX)
    app.include_router(admin, prefix=ADMIN_PREFIX)
