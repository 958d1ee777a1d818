"""What the four HTTP provider sandboxes share: injected faults and latency, the record of what
each accepted, and call statistics (docs/sandbox-providers.md, "Faults and latency").

Each provider is a `Provider` kept in ``app.state.providers[name]``; its API routes use the route
class of `provider_route` (latency, then the fault drawn for the call, then the handler) and its
admin endpoints come from `admin_router`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, model_validator

Outcome = Literal["ok", "429", "500", "timeout_after_accept"]
Handler = Callable[[Request], Awaitable[Response]]
#: A provider's own error response for an injected fault ("429" or "500").
FaultResponder = Callable[[Literal["429", "500"]], Response]


class ProviderFaults(BaseModel):
    """Shares of API calls that fail on purpose (at most one fault per call), and latency."""

    model_config = ConfigDict(extra="forbid")

    share_429: float = Field(0.0, ge=0, le=1)
    share_500: float = Field(0.0, ge=0, le=1)
    share_timeout_after_accept: float = Field(0.0, ge=0, le=1)
    latency_ms: float = Field(0.0, ge=0, le=60_000)
    hang_seconds: float = Field(30.0, ge=0, le=600)

    @model_validator(mode="after")
    def _shares_fit(self) -> ProviderFaults:
        if self.share_429 + self.share_500 + self.share_timeout_after_accept > 1:
            raise ValueError("the fault shares add up to more than 1")
        return self


class ForcedOutcomes(BaseModel):
    """The outcomes of the next calls, in order, before the seeded draws resume."""

    model_config = ConfigDict(extra="forbid")

    outcomes: list[Outcome] = Field(max_length=10_000)


def unit_draw(*parts: object) -> float:
    """A number in [0, 1) that depends on ``parts`` alone (stable across processes)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class Provider:
    """One provider sandbox's shared state: faults, what it accepted, call counts."""

    def __init__(
        self, name: str, faults: ProviderFaults, seed: int, stream: int, on_fault: FaultResponder
    ) -> None:
        self.name = name
        self.faults = faults
        self.on_fault = on_fault
        self._seed = seed
        self._draws = np.random.default_rng([seed, stream])
        self.forced: deque[Outcome] = deque()
        self.received: list[dict[str, Any]] = []
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        #: how many ids were issued for each content asked (`new_id`), by its digest
        self._issued: Counter[str] = Counter()

    def new_id(self, size: int, *asked: object) -> bytes:
        """``size`` bytes of a new id for a thing made of ``asked`` (what the call asked for,
        e.g. a text's recipient, sender and body): drawn from the seed and that content, never
        from the order calls arrive in, so the same world asked the same things in any order
        issues the same ids (and the candidates, whose behaviour derives from the ids, do the
        same). The same content asked again (a send retried after a lost answer) gets the next
        id of that content: every id is new."""
        content = json.dumps(asked, sort_keys=True, default=str)
        digest = hashlib.blake2b(content.encode(), digest_size=16).hexdigest()
        issued, self._issued[digest] = self._issued[digest], self._issued[digest] + 1
        key = f"{self._seed}:{self.name}:id:{digest}:{issued}".encode()
        return hashlib.blake2b(key, digest_size=size).digest()

    def outcome(self) -> Outcome:
        """The next forced outcome, else a seeded draw against the fault shares."""
        if self.forced:
            return self.forced.popleft()
        draw, edge, faults = float(self._draws.random()), 0.0, self.faults
        shares: tuple[tuple[Outcome, float], ...] = (
            ("429", faults.share_429),
            ("500", faults.share_500),
            ("timeout_after_accept", faults.share_timeout_after_accept),
        )
        for outcome, share in shares:
            edge += share
            if draw < edge:
                return outcome
        return "ok"

    def record(self, item: dict[str, Any]) -> None:
        """Something the provider accepted (a message, a share, an invitation link)."""
        self.received.append(item)


def provider_of(request: Request, name: str) -> Provider:
    return request.app.state.providers[name]


def provider_route(name: str, prefix: str) -> type[APIRoute]:
    """The route class of a provider's API: latency, fault, handler, statistics.

    429 and 500 faults answer before the handler runs (nothing is recorded); a
    ``timeout_after_accept`` lets the handler run (and record), then holds the answer back for
    ``hang_seconds``. Sleeps are async: other calls go on meanwhile."""

    class ProviderRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()
            endpoint = self.path_format.removeprefix(prefix).lstrip("/")

            async def guarded(request: Request) -> Response:
                provider = provider_of(request, name)
                faults = provider.faults
                if faults.latency_ms:
                    await asyncio.sleep(faults.latency_ms / 1000)
                outcome = provider.outcome()
                if outcome in ("429", "500"):
                    response = provider.on_fault(outcome)  # type: ignore[arg-type]
                else:
                    response = await handler(request)
                    if outcome == "timeout_after_accept":
                        await asyncio.sleep(faults.hang_seconds)
                provider.calls[f"{request.method} {endpoint}"] += 1
                provider.statuses[str(response.status_code)] += 1
                return response

            return guarded

    return ProviderRoute


def admin_router(name: str) -> APIRouter:
    """``/sandbox/{name}/``: ``received``, ``stats``, ``PUT faults``, ``POST faults/next``."""
    router = APIRouter(tags=[f"{name} admin"])

    @router.get("/received")
    async def received(request: Request) -> dict[str, Any]:
        """Everything the provider accepted, in order."""
        return {"data": provider_of(request, name).received}

    @router.get("/stats")
    async def stats(request: Request) -> dict[str, Any]:
        """Calls per endpoint and responses per HTTP status."""
        provider = provider_of(request, name)
        return {"calls": dict(provider.calls), "status": dict(provider.statuses)}

    @router.put("/faults")
    async def set_faults(request: Request, faults: ProviderFaults) -> ProviderFaults:
        """Replace the fault settings."""
        provider_of(request, name).faults = faults
        return faults

    @router.post("/faults/next")
    async def force(request: Request, forced: ForcedOutcomes) -> dict[str, Any]:
        """Force the outcomes of the next calls, in order (after any still queued)."""
        provider = provider_of(request, name)
        provider.forced.extend(forced.outcomes)
        return {"queued": list(provider.forced)}

    return router
