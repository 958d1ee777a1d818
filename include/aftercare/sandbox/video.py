"""Sandbox video platform: personalised shares of pre-recorded videos, under ``/video``. Our own
generic contract (docs/sandbox-providers.md, "Video platform"), shaped like the real platforms'."""

from __future__ import annotations

import secrets
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from aftercare.sandbox.clock import iso
from aftercare.sandbox.faults import Provider, ProviderFaults, admin_router, provider_route

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
    def __init__(self, settings: VideoSettings, seed: int) -> None:
        super().__init__("video", settings.faults, seed, 31, _fault)
        self.settings = settings
        self._ids = np.random.default_rng([seed, 32])

    def new_id(self) -> str:
        return "shr_" + self._ids.bytes(12).hex()


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


admin = admin_router("video")


def install(app: FastAPI, settings: VideoSettings, seed: int) -> None:
    """Mount a fresh sandbox video platform on ``app``."""
    app.state.providers["video"] = VideoService(settings, seed)
    app.include_router(router, prefix=PREFIX)
    app.include_router(admin, prefix=ADMIN_PREFIX)
