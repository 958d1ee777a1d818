"""Sendspark's webhooks, received by the candidate-facing service (docs/sandbox-providers.md,
"Sendspark"): ``POST /webhooks/sendspark/{token}``, the URL each prospect was added with
(`aftercare.providers.sendspark`). Sendspark documents no signature of its webhooks, so the
secret is in the URL: the token is the touchpoint's ids signed with the webhook secret
(``AFTERCARE_SENDSPARK_WEBHOOK_SECRET``), checked in constant time. A forged or altered token,
or a service without the secret, gets 404 and nothing is recorded.

What is recorded, each once per touchpoint (`Store.video_event`, source ``sendspark``), for the
warehouse to read from the feed: ``render_ready`` (detail ``{share_url}``), ``render_failed``,
``page_opened`` (its ``video_viewed``: the share page opened, a view as on our own pages),
``played``, ``watched_25`` ... ``watched_100`` (every quarter up to the percentage watched) and
``cta_clicked``. Other events are acknowledged and ignored. Not held to the per-client rate
limit: the calls come from Sendspark's servers, in bursts. Logs carry counts.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from aftercare.preferences.store import Store
from aftercare.providers.sendspark import verify_webhook_token

log = logging.getLogger("aftercare.preferences")

WEBHOOK_SECRET_ENV = "AFTERCARE_SENDSPARK_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
#: Sendspark's event -> ours
EVENTS = {
    "video_generated_dv": "render_ready",
    "video_mp4_ready": "render_ready",
    "video_generated_error": "render_failed",
    "video_viewed": "page_opened",  # its share page opened: a view, as on ours
    "video_played": "played",
    "video_cta_clicked": "cta_clicked",
}
QUARTERS = (25, 50, 75, 100)


def _percentage(body: dict[str, Any]) -> float | None:
    for key in ("percentage", "percent", "watchedPercentage"):
        try:
            return float(body[key])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _share_url(body: dict[str, Any]) -> str | None:
    url = body.get("shareUrl")
    if isinstance(url, str) and urlsplit(url).scheme in ("https", "http") and urlsplit(url).netloc:
        return url
    return None


def events_of(body: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """Our events (with their detail) for one Sendspark webhook body."""
    name = body.get("event") or body.get("eventType") or body.get("type")
    if name == "video_watched":
        percentage = _percentage(body)
        if percentage is None:
            return []
        return [(f"watched_{q}", None) for q in QUARTERS if percentage >= q]
    ours = EVENTS.get(str(name))
    if ours == "render_ready":
        share_url = _share_url(body)
        return [(ours, {"share_url": share_url})] if share_url else []
    if ours == "render_failed":
        return [(ours, {"reason": "sendspark_render_error"})]
    return [(ours, None)] if ours else []


def router(store: Store, secret: str | None = None) -> APIRouter:
    """The webhook routes over ``store``; ``secret`` defaults to the environment's."""
    secret = secret if secret is not None else os.environ.get(WEBHOOK_SECRET_ENV, "")
    routes = APIRouter()

    @routes.post("/webhooks/sendspark/{token}")
    def sendspark(token: str, body: Annotated[Any, Body()] = None) -> JSONResponse:
        """In the server's thread pool: the store's commit (an fsync) holds no other call."""
        ids = verify_webhook_token(secret, token) if secret else None
        if ids is None:
            return JSONResponse({"detail": "not found"}, 404)
        if not isinstance(body, dict):
            return JSONResponse({"detail": "the body must be a JSON object"}, 400)
        touchpoint_id, candidate_id = ids
        recorded = sum(
            store.video_event(touchpoint_id, candidate_id, event, "sendspark", detail)
            for event, detail in events_of(body)
        )
        log.info("Sendspark webhook: %d new events", recorded)
        return JSONResponse({"recorded": recorded})

    return routes
