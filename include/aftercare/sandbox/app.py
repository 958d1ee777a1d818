"""The sandbox's FastAPI application."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from fastapi import FastAPI, Request

from aftercare import __version__


@dataclass
class SandboxState:
    """What every sandbox service shares: the seed and the generator drawn from it."""

    seed: int
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 - fake data, not security


#: Services mounted on the app, by URL prefix; each service issue adds its router here.
SERVICES: dict[str, object] = {}


def create_app(seed: int = 42) -> FastAPI:
    """A fresh sandbox whose data derive from ``seed`` alone."""
    app = FastAPI(title="aftercare sandbox", version=__version__, docs_url="/docs")
    app.state.sandbox = SandboxState(seed=seed)
    for prefix, router in SERVICES.items():
        app.include_router(router, prefix=prefix)

    @app.get("/health", tags=["sandbox"])
    def health(request: Request) -> dict[str, object]:
        """Liveness, the seed in use and the services mounted."""
        return {
            "status": "ok",
            "seed": request.app.state.sandbox.seed,
            "services": sorted(SERVICES),
        }

    return app
