"""The preferences service's web app (FastAPI): the pages the signed links open, the RFC 8058
one-click POST, the referral redirect, and the authenticated feed the warehouse loads.

Routes (docs/preferences.md):

- ``GET /unsubscribe?token=``: a page saying what will stop, with the choices; changes nothing
  (mail scanners follow links);
- ``POST /unsubscribe?token=``: a plain form's ``choice`` (email, sms, all, marketing), or the
  one-click body ``List-Unsubscribe=One-Click`` (the token's channel), recorded before the "done"
  page is answered (never a redirect: RFC 8058 forbids one);
- ``GET /refer?ref=``: the click recorded, then 303 to the agency's referral form with an opaque
  reference;
- ``GET /feed?after=&limit=`` (``Authorization: Bearer <feed token>``): the events after a cursor;
- ``POST /webhooks/sendspark/{token}``: Sendspark's webhooks (`aftercare.preferences.webhooks`);
- ``PUT /videos/{touchpoint_id}`` (the same bearer token): dispatch registers a video
  touchpoint's personalised page (idempotent: a retry is the same page), answered with its
  signed public URL;
- ``GET /v/{token}``: the page (recorded ``page_opened``): the milestone's recording in a
  ``<video>`` (a file) or an ``<iframe>`` (an embed of the agency's own host), personalised
  around it, with the call to action; ``POST /v/{token}/events`` records what the page's script
  saw (``played``, ``watched_25`` ... ``watched_100``); ``GET /v/{token}/cta`` records the click,
  then 303 to the call to action;
- ``POST /videos/forget`` and ``POST /videos/retain`` (the same bearer token): erasure and
  retention of the pages (`aftercare.privacy`);
- ``GET /health``.

A forged, altered or (referral) expired token gets a page saying so, 400 or 410, and nothing is
recorded. Every client address is held to ``preferences.requests_per_minute`` (the `limits`
library, a moving window); over it, 429 with ``Retry-After``. Logs carry no token, id or address.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from aftercare import PROJECT_ROOT
from aftercare.config import Config, HttpsUrl, HttpUrl
from aftercare.messages import (
    ONE_CLICK,
    LinkExpired,
    MessageError,
    verify_referral,
    verify_unsubscribe,
    verify_video,
    video_page_link,
)
from aftercare.preferences import webhooks
from aftercare.preferences.store import Store

log = logging.getLogger("aftercare.preferences")

#: the environment variables of the service's secrets
SECRET_ENV = "AFTERCARE_PREFERENCES_SIGNING_SECRET"  # noqa: S105 - a variable's name
FEED_TOKEN_ENV = "AFTERCARE_PREFERENCES_FEED_TOKEN"  # noqa: S105 - a variable's name
#: the choices the page offers: value, label, what it means
CHOICES = (
    ("email", "Stop emails", "No more emails from us; texts may still come."),
    ("sms", "Stop texts", "No more text messages from us; emails may still come."),
    ("all", "Stop everything", "No more emails, texts or calls from us about this placement."),
    (
        "marketing",
        "Stop marketing only",
        "No review requests, referral asks, birthday or anniversary messages, or availability "
        "checks; we may still contact you about the placement itself.",
    ),
)
DONE = {
    "email": "You will get no more emails from us.",
    "sms": "You will get no more text messages from us.",
    "all": "You will get no more messages from us.",
    "marketing": "You will get no more marketing messages from us.",
}
#: headers on every page: nothing cached, indexed, framed or leaked through the Referer
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
}

#: what a video page's script may report (the page records page_opened, its link cta_clicked;
#: a platform's webhooks their own events): nothing else is taken from a browser
PLAYER_EVENTS = frozenset({"played", "watched_25", "watched_50", "watched_75", "watched_100"})
#: the call to action's words
CTA_LABELS = {"review": "Leave a review", "referral": "Refer a friend"}
#: the page's script (play tracking)
STATIC = Path(__file__).parent / "static"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class VideoPageIn(BaseModel):
    """What dispatch registers of a video touchpoint (`aftercare.providers.base.VideoPage`
    less its touchpoint id, which is the URL's)."""

    model_config = ConfigDict(extra="forbid")

    candidate_id: int
    milestone: str = Field(min_length=1, max_length=100)
    first_name: str = Field(max_length=200)
    job_title: str = Field(max_length=200)
    company: str = Field(max_length=200)
    recruiter_name: str = Field(max_length=200)
    recording: HttpsUrl
    kind: Literal["file", "embed"]
    poster: HttpsUrl | None = None
    cta_kind: Literal["review", "referral"] | None = None
    cta_url: HttpUrl | None = None


class ForgetIn(BaseModel):
    """Erasure: the candidates whose video pages go."""

    model_config = ConfigDict(extra="forbid")

    candidate_ids: list[int] = Field(max_length=100_000)


class RetainIn(BaseModel):
    """Retention: the pages registered before this instant go."""

    model_config = ConfigDict(extra="forbid")

    before: AwareDatetime


class VideoEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: str


@dataclass(frozen=True)
class ServiceSettings:
    """What the service needs: the config's ``preferences`` block and the agency's name, the
    secrets from the environment."""

    secret: str
    feed_token: str
    store_path: Path
    referral_form_url: str
    referral_max_age_seconds: int
    requests_per_minute: int
    agency_name: str
    #: a video page's public link is this plus ``/<token>`` (``messages.video_page_base``)
    video_page_base: str
    #: the origins (scheme and host) of the configured recordings and posters: a page may
    #: show only these, and its Content-Security-Policy allows only its own
    video_origins: frozenset[str]

    @classmethod
    def from_environment(cls, config: Config) -> ServiceSettings:
        missing = [name for name in (SECRET_ENV, FEED_TOKEN_ENV) if not os.environ.get(name)]
        if missing:
            raise SystemExit(f"the preferences service needs {' and '.join(missing)} set")
        prefs = config.preferences
        return cls(
            secret=os.environ[SECRET_ENV],
            feed_token=os.environ[FEED_TOKEN_ENV],
            store_path=PROJECT_ROOT / prefs.store_path,
            referral_form_url=prefs.referral_form_url,
            referral_max_age_seconds=prefs.referral_max_age_days * 86400,
            requests_per_minute=prefs.requests_per_minute,
            agency_name=config.agency.name,
            video_page_base=config.messages.video_page_base,
            video_origins=cls.video_origins_of(config),
        )

    @staticmethod
    def video_origins_of(config: Config) -> frozenset[str]:
        """The origins of ``config``'s recordings and posters."""
        return frozenset(
            _origin(url)
            for video in config.dispatch.videos.values()
            for url in (video.recording, video.poster)
            if url
        )


_pages = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html.j2"]),
)


def _render(name: str, settings: ServiceSettings, **values: object) -> str:
    return _pages.get_template(name).render(agency_name=settings.agency_name, **values)


def _page(name: str, status: int, settings: ServiceSettings, **values: object) -> HTMLResponse:
    return HTMLResponse(_render(name, settings, **values), status, headers=PAGE_HEADERS)


def _refused(settings: ServiceSettings, expired: bool) -> HTMLResponse:
    if expired:
        return _page(
            "refused.html.j2",
            410,
            settings,
            heading="This link has expired",
            explanation="Links like this one work for a limited time, and this one is too old.",
        )
    return _page(
        "refused.html.j2",
        400,
        settings,
        heading="This link is not valid",
        explanation="The link is incomplete or has been changed. Please use the link exactly "
        "as it appears in our message.",
    )


def _video_policy(page: dict) -> dict[str, str]:
    """The page headers, its Content-Security-Policy allowing its recording's and poster's
    hosts only (and its own script and events)."""
    recording = _origin(page["recording"])
    images = " ".join(["data:", *([_origin(page["poster"])] if page["poster"] else [])])
    media = f"frame-src {recording}" if page["kind"] == "embed" else f"media-src {recording}"
    policy = (
        f"default-src 'none'; style-src 'unsafe-inline'; img-src {images}; {media}; "
        "script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    return PAGE_HEADERS | {"Content-Security-Policy": policy}


def _with_query(url: str, **params: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def create_app(settings: ServiceSettings) -> FastAPI:
    """The app over the store at ``settings.store_path`` (opened now, closed at shutdown)."""
    store = Store(settings.store_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="aftercare preferences",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.store = store
    limiter = MovingWindowRateLimiter(MemoryStorage())
    per_client = RateLimitItemPerMinute(settings.requests_per_minute)

    async def rate_limited(request: Request) -> None:
        """Every page's dependency: 429 with Retry-After past the client's share."""
        client = request.client.host if request.client else "unknown"
        if not limiter.hit(per_client, client):
            reset = limiter.get_window_stats(per_client, client).reset_time
            log.warning("a client is over %d requests a minute", settings.requests_per_minute)
            raise HTTPException(
                429,
                "Too many requests: try again shortly.",
                headers={"Retry-After": str(max(1, math.ceil(reset - time.time())))},
            )

    limited = [Depends(rate_limited)]
    # the "done" pages say the same to everyone: made once
    done = {choice: _render("done.html.j2", settings, what=what) for choice, what in DONE.items()}

    @app.get("/health", dependencies=limited)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/unsubscribe", dependencies=limited)
    def unsubscribe_page(token: str = Query("")) -> HTMLResponse:
        try:
            _, channel, _ = verify_unsubscribe(token, settings.secret)
        except MessageError:
            return _refused(settings, expired=False)
        return _page(
            "unsubscribe.html.j2",
            200,
            settings,
            action=_with_query("/unsubscribe", token=token),
            choices=CHOICES,
            chosen=channel,
        )

    @app.post("/unsubscribe", dependencies=limited)
    def unsubscribe(
        token: str = Query(""),
        choice: str | None = Form(None),
        one_click: str | None = Form(None, alias="List-Unsubscribe"),
    ) -> HTMLResponse:
        """Runs in the server's thread pool: the store's commit (an fsync) holds no request
        but this one."""
        try:
            candidate_id, channel, touchpoint_id = verify_unsubscribe(token, settings.secret)
        except MessageError:
            return _refused(settings, expired=False)
        clicked = one_click == ONE_CLICK.split("=")[1]
        chosen = channel if clicked else choice
        if chosen not in DONE:
            return _page(
                "refused.html.j2",
                400,
                settings,
                heading="Please choose what should stop",
                explanation="Go back, pick one of the choices and confirm.",
            )
        source = "one_click" if clicked else "page"
        new = store.opt_out(int(candidate_id), chosen, touchpoint_id, source)
        log.info("opt-out (%s, %s): %s", chosen, source, "recorded" if new else "already recorded")
        return HTMLResponse(done[chosen], headers=PAGE_HEADERS)

    @app.get("/refer", response_model=None, dependencies=limited)
    def refer(ref: str = Query("")) -> Response:
        try:
            candidate_id, touchpoint_id = verify_referral(
                ref, settings.secret, settings.referral_max_age_seconds
            )
        except LinkExpired:
            return _refused(settings, expired=True)
        except MessageError:
            return _refused(settings, expired=False)
        reference = store.referral_click(int(candidate_id), touchpoint_id)
        log.info("referral click recorded")
        target = _with_query(settings.referral_form_url, ref=reference)
        return RedirectResponse(target, 303, headers={"Referrer-Policy": "no-referrer"})

    def authorised(request: Request) -> None:
        """The feed's and the page registration's dependency: the feed token as bearer."""
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given, settings.feed_token):
            raise HTTPException(401, "authorization required")

    @app.get("/feed", dependencies=[Depends(authorised)])
    def feed(after: int = Query(0, ge=0), limit: int = Query(500, ge=1, le=5000)) -> Response:
        events = store.events(after, limit)
        return JSONResponse({"events": events, "last": events[-1]["seq"] if events else after})

    @app.put("/videos/{touchpoint_id}", dependencies=[Depends(authorised)])
    def register_video(touchpoint_id: str, page: VideoPageIn) -> Response:
        """A video touchpoint's page, registered (or updated) and its public URL: 201 when
        new, 200 when a retry found it. A recording or poster of a host the config does not
        name is refused (422): a page shows the agency's own media only."""
        unknown = {
            _origin(url) for url in (page.recording, page.poster) if url
        } - settings.video_origins
        if unknown:
            return JSONResponse({"detail": "recording or poster of a host not configured"}, 422)
        new = store.register_page({"touchpoint_id": touchpoint_id, **page.model_dump()})
        log.info("video page %s", "registered" if new else "registered again (the same page)")
        url = video_page_link(
            settings.video_page_base, settings.secret, page.candidate_id, touchpoint_id
        )
        return JSONResponse({"url": url}, 201 if new else 200)

    @app.post("/videos/forget", dependencies=[Depends(authorised)])
    def forget_videos(body: ForgetIn) -> dict[str, int]:
        """Erasure (`aftercare.privacy.erasure`): the candidates' pages deleted (their links
        then say the video is no longer available), and their video events' details (a
        Sendspark share link) cleared; how many pages."""
        forgotten = store.forget_pages(candidate_ids=body.candidate_ids)
        log.info("erasure: %d video pages deleted", forgotten)
        return {"forgotten": forgotten}

    @app.post("/videos/retain", dependencies=[Depends(authorised)])
    def retain_videos(body: RetainIn) -> dict[str, int]:
        """Retention (`aftercare.privacy.retention`): pages registered before ``before``
        deleted, and the details of video events as old cleared; how many pages."""
        before = body.before.astimezone(UTC).isoformat(timespec="microseconds")
        forgotten = store.forget_pages(before=before)
        log.info("retention: %d video pages deleted", forgotten)
        return {"forgotten": forgotten}

    def video_page(token: str) -> tuple[int, str, dict] | HTMLResponse:
        """The candidate, touchpoint and page of a video link, or the page refusing it."""
        try:
            candidate_id, touchpoint_id = verify_video(token, settings.secret)
        except MessageError:
            return _refused(settings, expired=False)
        page = store.page(touchpoint_id)
        if page is None or page["candidate_id"] != candidate_id:
            return _page(
                "refused.html.j2",
                404,
                settings,
                heading="This video is no longer available",
                explanation="We keep personal videos for a limited time.",
            )
        return candidate_id, touchpoint_id, page

    @app.get("/static/video.js", dependencies=limited)
    def video_script() -> FileResponse:
        return FileResponse(STATIC / "video.js", media_type="text/javascript")

    @app.get("/v/{token}", dependencies=limited)
    def watch(token: str) -> HTMLResponse:
        found = video_page(token)
        if isinstance(found, HTMLResponse):
            return found
        candidate_id, touchpoint_id, page = found
        store.video_event(touchpoint_id, candidate_id, "page_opened", "page")
        return HTMLResponse(
            _render(
                "video.html.j2",
                settings,
                page=page,
                events_url=f"/v/{token}/events",
                cta_link=f"/v/{token}/cta" if page["cta_url"] else None,
                cta_label=CTA_LABELS.get(page["cta_kind"] or ""),
            ),
            headers=_video_policy(page),
        )

    @app.post("/v/{token}/events", response_model=None, dependencies=limited)
    def video_event(token: str, body: VideoEventIn) -> Response:
        if body.event not in PLAYER_EVENTS:
            return JSONResponse({"detail": f"event is one of {sorted(PLAYER_EVENTS)}"}, 400)
        found = video_page(token)
        if isinstance(found, HTMLResponse):
            return found
        candidate_id, touchpoint_id, _ = found
        store.video_event(touchpoint_id, candidate_id, body.event, "page")
        return Response(status_code=204)

    @app.get("/v/{token}/cta", response_model=None, dependencies=limited)
    def video_cta(token: str) -> Response:
        found = video_page(token)
        if isinstance(found, HTMLResponse):
            return found
        candidate_id, touchpoint_id, page = found
        if not page["cta_url"]:
            return _page(
                "refused.html.j2",
                404,
                settings,
                heading="There is nothing to follow here",
                explanation="This video has no link to follow.",
            )
        store.video_event(touchpoint_id, candidate_id, "cta_clicked", "page")
        return RedirectResponse(page["cta_url"], 303, headers={"Referrer-Policy": "no-referrer"})

    app.include_router(webhooks.router(store))

    return app
