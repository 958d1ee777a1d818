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
from pathlib import Path
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from aftercare import PROJECT_ROOT
from aftercare.config import Config
from aftercare.messages import (
    ONE_CLICK,
    LinkExpired,
    MessageError,
    verify_referral,
    verify_unsubscribe,
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

    @app.get("/feed")
    def feed(
        request: Request, after: int = Query(0, ge=0), limit: int = Query(500, ge=1, le=5000)
    ) -> Response:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given, settings.feed_token):
            return JSONResponse({"detail": "authorization required"}, 401)
        events = store.events(after, limit)
        return JSONResponse({"events": events, "last": events[-1]["seq"] if events else after})

    app.include_router(webhooks.router(store))
    return app
