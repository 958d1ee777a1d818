"""The sandbox's FastAPI application and its settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
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
from sandbox.video import VideoSettings


class SandboxSettings(BaseModel):
    """Everything a sandbox is made of: the seed its worlds derive from, and each service's
    settings."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 42
    ats: AtsSandboxSettings = AtsSandboxSettings()
    twilio: TwilioSettings = TwilioSettings()
    sendgrid: SendGridSettings = SendGridSettings()
    video: VideoSettings = VideoSettings()
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
    "video": lambda app, settings: video.install(
        app, settings.video, settings.seed, settings.engagement
    ),
    "trustpilot": lambda app, settings: reviews.install(
        app, settings.trustpilot, settings.seed, settings.engagement
    ),
    "smtp": lambda app, settings: smtp.install(app, settings.smtp),
}


class ReferralAsks:
    """The referral asks the video platform and SendGrid received since the last call:
    (touchpoint id, time), from a share's ``reference`` or a mail's ``touchpoint_id`` custom arg
    starting ``referral_ask:``. The ATS world reads them as it lives each day."""

    def __init__(self, providers: dict[str, Any]) -> None:
        self.providers = providers
        self.seen = {"video": 0, "sendgrid": 0}

    def __call__(self) -> list[tuple[str, int]]:
        found = []
        for name in self.seen:
            received = self.providers[name].received
            for item in received[self.seen[name] :]:
                if name == "video":
                    touchpoint, at = item["reference"], item["created_at"]
                else:
                    touchpoint = (item.get("custom_args") or {}).get("touchpoint_id", "")
                    at = item["received_at"]
                if touchpoint.startswith("referral_ask:"):
                    found.append((touchpoint, round(datetime.fromisoformat(at).timestamp() * 1000)))
            self.seen[name] = len(received)
        return sorted(found, key=lambda ask: ask[1])


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    """A fresh sandbox whose data derive from its settings alone; apps share no state."""
    settings = settings or SandboxSettings()
    app = FastAPI(title="aftercare sandbox", version=__version__, docs_url="/docs")
    app.state.settings = settings
    app.state.providers = {}
    for mount in SERVICES.values():
        mount(app, settings)
    plays = app.state.ats.world.plays
    plays.settings, plays.asks = settings.engagement, ReferralAsks(app.state.providers)
    app.state.providers["twilio"].scripted = app.state.ats.world.scenario.replies

    @app.get("/health", tags=["sandbox"])
    def health(request: Request) -> dict[str, object]:
        """Liveness, the seed in use and the services mounted."""
        return {
            "status": "ok",
            "seed": request.app.state.settings.seed,
            "services": sorted(SERVICES),
        }

    return app
