"""One sandbox ATS as a running service: its world, OAuth grants and REST sessions, the rate
limit, the injected faults and call statistics. Each sandbox app owns one."""

from __future__ import annotations

import secrets
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sandbox.ats.settings import AtsFaults, AtsSandboxSettings
from sandbox.ats.world import World

#: How long an authorization code stays valid (seconds of real time).
CODE_TTL_SECONDS = 120

Fault = Literal["429", "500", "slow", "truncated"]


class AuthError(Exception):
    """An OAuth or login refusal: the HTTP status and the JSON body to answer with."""

    def __init__(self, status: int, body: dict[str, object]) -> None:
        super().__init__(body)
        self.status, self.body = status, body


def _grant_error(description: str) -> AuthError:
    return AuthError(400, {"error": "invalid_grant", "error_description": description})


@dataclass(frozen=True)
class _Code:
    client_id: str
    expires: float


class AtsService:
    """A sandbox ATS: what its HTTP endpoints act on."""

    def __init__(self, settings: AtsSandboxSettings, seed: int) -> None:
        self.settings = settings
        self.world = World(settings, seed)
        self.faults: AtsFaults = settings.faults
        self._fault_draws = np.random.default_rng([seed, 3])
        self._codes: dict[str, _Code] = {}
        self._access_tokens: dict[str, float] = {}
        self._refresh_tokens: set[str] = set()
        self._sessions: dict[str, float] = {}
        self._recent_calls: deque[float] = deque()
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()

    # ------------------------------------------------------------------------------------------
    # OAuth and REST login

    def authorize(self, client_id: str, username: str, password: str) -> str:
        """A single-use authorization code for the API user (headless ``action=Login``)."""
        if client_id != self.settings.client_id:
            raise AuthError(400, {"error": "invalid_client"})
        user_ok = secrets.compare_digest(username, self.settings.api_user)
        if not (user_ok and secrets.compare_digest(password, self.settings.api_password)):
            raise AuthError(401, {"error": "access_denied"})
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Code(client_id, time.time() + CODE_TTL_SECONDS)
        return code

    def token(self, params: dict[str, str]) -> dict[str, object]:
        """The token endpoint: an authorization code or a refresh token for a new pair."""
        client_ok = params.get("client_id") == self.settings.client_id
        if not (client_ok and params.get("client_secret") == self.settings.client_secret):
            raise AuthError(
                400, {"error": "invalid_client", "error_description": "Invalid client credentials"}
            )
        grant = params.get("grant_type")
        if grant == "authorization_code":
            code = self._codes.pop(params.get("code", ""), None)  # single use, even on failure
            if code is None or code.expires < time.time():
                raise _grant_error("Invalid, expired or used authorization code")
        elif grant == "refresh_token":
            refresh = params.get("refresh_token", "")
            if refresh not in self._refresh_tokens:
                raise _grant_error("Invalid or used refresh token")
            self._refresh_tokens.discard(refresh)  # each refresh token works once
        else:
            raise AuthError(400, {"error": "unsupported_grant_type"})
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        ttl = self.settings.access_token_ttl_seconds
        self._access_tokens[access] = time.time() + ttl
        self._refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(ttl),
            "refresh_token": refresh,
        }

    def login(self, access_token: str) -> str:
        """A new BhRestToken for a live OAuth access token."""
        if self._access_tokens.get(access_token, 0) < time.time():
            raise AuthError(401, {"errorMessage": "Invalid or expired OAuth access token."})
        token = str(uuid.uuid4())
        self._sessions[token] = time.time() + self.settings.rest_token_ttl_seconds
        return token

    def session_expires(self, token: str) -> float | None:
        """When a live session ends (epoch seconds); None for unknown or expired tokens."""
        expires = self._sessions.get(token)
        if expires is None or expires < time.time():
            self._sessions.pop(token, None)
            return None
        return expires

    # ------------------------------------------------------------------------------------------
    # rate limit and faults

    def over_limit(self) -> bool:
        """Count a REST call in the rolling minute; True if the limit is already used up."""
        now = time.monotonic()
        while self._recent_calls and self._recent_calls[0] <= now - 60:
            self._recent_calls.popleft()
        if len(self._recent_calls) >= self.settings.rate_limit_per_minute:
            return True
        self._recent_calls.append(now)
        return False

    def draw_fault(self) -> Fault | None:
        """The fault (if any) this call suffers, drawn from the seeded sequence."""
        draw, edge = float(self._fault_draws.random()), 0.0
        faults = self.faults
        shares: tuple[tuple[Fault, float], ...] = (
            ("429", faults.share_429),
            ("500", faults.share_500),
            ("slow", faults.share_slow),
            ("truncated", faults.share_truncated),
        )
        for fault, share in shares:
            edge += share
            if draw < edge:
                return fault
        return None
