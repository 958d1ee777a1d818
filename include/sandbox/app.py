"""The sandbox's FastAPI application and its settings."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from aftercare import __version__
from sandbox import reviews, sendgrid, smtp, twilio, video
from sandbox.ats import AtsSandboxSettings
from sandbox.ats import install as install_ats
from sandbox.clock import install as install_clock
from sandbox.engagement import EngagementSettings
from sandbox.reviews import TrustpilotSettings
from sandbox.sendgrid import SendGridSettings
from sandbox.smtp import SmtpSettings
from sandbox.twilio import TwilioSettings
from sandbox.video import SendsparkSettings


class SandboxSettings(BaseModel):
    """Everything a sandbox is made of: the seed its worlds derive from, and each service's
    settings."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 42
    ats: AtsSandboxSettings = AtsSandboxSettings()
    twilio: TwilioSettings = TwilioSettings()
    sendgrid: SendGridSettings = SendGridSettings()
    sendspark: SendsparkSettings = SendsparkSettings()
    trustpilot: TrustpilotSettings = TrustpilotSettings()
    smtp: SmtpSettings = SmtpSettings()
    engagement: EngagementSettings = EngagementSettings()


def _mount_ats(app: FastAPI, settings: SandboxSettings) -> None:
    install_ats(app, settings.ats, settings.seed)
    install_clock(app)  # the one clock, over the ATS world's days


#: The services of the sandbox and how each mounts itself (with its own state) on an app.
SERVICES: dict[str, Callable[[FastAPI, SandboxSettings], None]] = {
    "ats": _mount_ats,
    "twilio": lambda app, settings: twilio.install(
        app, settings.twilio, settings.seed, settings.engagement
    ),
    "sendgrid": lambda app, settings: sendgrid.install(
        app, settings.sendgrid, settings.seed, settings.engagement
    ),
    "sendspark": lambda app, settings: video.install(
        app, settings.sendspark, settings.seed, settings.engagement
    ),
    "trustpilot": lambda app, settings: reviews.install(
        app, settings.trustpilot, settings.seed, settings.engagement
    ),
    "smtp": lambda app, settings: smtp.install(app, settings.smtp),
}


class ReferralAsks:
    """The referral asks SendGrid received since the last call: (touchpoint id, time), from a
    mail's ``touchpoint_id`` custom arg starting ``referral_ask:`` (a video's link goes out by
    email or text too). The ATS world reads them as it lives each day."""

    def __init__(self, providers: dict[str, Any]) -> None:
        self.providers = providers
        self.seen = {"sendgrid": 0}

    def __call__(self) -> list[tuple[str, int]]:
        found = []
        for name in self.seen:
            received = self.providers[name].received
            for item in received[self.seen[name] :]:
                touchpoint = (item.get("custom_args") or {}).get("touchpoint_id", "")
                at = item["received_at"]
                if touchpoint.startswith("referral_ask:"):
                    found.append((touchpoint, round(datetime.fromisoformat(at).timestamp() * 1000)))
            self.seen[name] = len(received)
        return sorted(found, key=lambda ask: ask[1])


#: What a sandbox's world is at a moment (``app.state``): its settings, the ATS world, the one
#: clock and every provider's records (what each received, the answers still to come, the ids
#: it issued). Saved and restored whole, so the objects they share stay shared.
STATE = ("settings", "ats", "clock", "providers", "smtp")


def save_state(app: FastAPI, path: Path) -> None:
    """Write the sandbox's world to ``path`` (replaced at once, never half written)."""
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        pickle.dump({name: getattr(app.state, name) for name in STATE}, out)
    os.replace(partial, path)


def restore_state(app: FastAPI, path: Path) -> None:
    """Continue the world ``save_state`` wrote to ``path``: the sandbox's own file, written
    by this code (a pickle: never point it at a file from elsewhere)."""
    with path.open("rb") as saved:
        for name, value in pickle.load(saved).items():  # noqa: S301 (see the docstring)
            setattr(app.state, name, value)


def create_app(settings: SandboxSettings | None = None, state_file: Path | None = None) -> FastAPI:
    """A fresh sandbox whose data derive from its settings alone; apps share no state. With a
    ``state_file``, the world saved there, if any (settings included), and ``POST
    /sandbox/state`` saves the world there (make demo, then make airflow, live one world)."""
    settings = settings or SandboxSettings()
    app = FastAPI(title="aftercare sandbox", version=__version__, docs_url="/docs")
    app.state.settings = settings
    app.state.providers = {}
    for mount in SERVICES.values():
        mount(app, settings)
    plays = app.state.ats.world.plays
    plays.settings, plays.asks = settings.engagement, ReferralAsks(app.state.providers)
    app.state.providers["twilio"].scripted = app.state.ats.world.scenario.replies
    if state_file is not None and state_file.exists():
        restore_state(app, state_file)

    @app.post("/sandbox/state", tags=["sandbox"])
    async def save(request: Request) -> JSONResponse:
        """Save the sandbox's world to its state file (``--state-file``); the clock's reading.
        On the event loop, like every handler that changes the world: never mid-change."""
        if state_file is None:
            return JSONResponse({"detail": "this sandbox was started without a state file"}, 409)
        save_state(request.app, state_file)
        return JSONResponse({"state_file": str(state_file), **request.app.state.clock.reading()})

    @app.get("/health", tags=["sandbox"])
    def health(request: Request) -> dict[str, object]:
        """Liveness, the seed in use and the services mounted."""
        return {
            "status": "ok",
            "seed": request.app.state.settings.seed,
            "services": sorted(SERVICES),
        }

    return app
