"""The one HTTP transport of the ATS client and every provider client: a rate-limited session,
timeouts, retries with backoff (or the server's Retry-After), and the one distinction
exactly-once rests on.

A call that surely had no effect (a refused connection, a 429) is retried, and so is a call
that creates nothing when it times out or gets a 5xx. A call that ``sends`` (creates a
message, a share, a task) and may have reached the server without our knowing (a timeout after
the request left, a dropped connection, a 5xx) raises `Ambiguous` instead: the caller looks it
up before it sends again.
What is still failing after every attempt raises `Unavailable`.
"""

from __future__ import annotations

import email.utils
import logging
import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests_ratelimiter import LimiterAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

log = logging.getLogger(__name__)


class Unavailable(RuntimeError):
    """The server could not be reached or kept failing (429, 5xx) through every attempt; the
    call surely had no effect, or (for look-ups) it does not matter."""


class Ambiguous(RuntimeError):
    """A send may have reached the server without our knowing: look it up before resending.
    ``status``: the 5xx it was answered with (``None``: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Retries:
    """How a transport retries: ``attempts`` tries, exponential backoff with jitter
    (``backoff_seconds`` doubling up to ``backoff_max_seconds``), or the server's Retry-After
    (``retry_after_default`` when a 429 gives none: ``None`` backs off instead), never longer
    than ``retry_after_max``."""

    attempts: int
    backoff_seconds: float
    backoff_max_seconds: float
    retry_after_max: float
    retry_after_default: float | None = None
    #: the level retries are logged at
    log_level: int = logging.INFO


class _Retry(Exception):
    def __init__(self, what: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.retry_after = retry_after


def _refused(exc: requests.ConnectionError) -> bool:
    """Whether a connection error happened before the request left (nothing was sent)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(
        reason, NewConnectionError | ConnectTimeoutError
    )


class Transport:
    """HTTP for one service (``name`` starts every message): ``rate`` calls (the rate
    limiter's ``per_second`` / ``per_minute``, with ``burst``), ``connections`` pooled
    connections, ``timeout`` seconds a call, retried as ``retries`` says."""

    def __init__(
        self,
        name: str,
        *,
        rate: dict[str, float],
        connections: int,
        timeout: float,
        retries: Retries,
        burst: int = 1,
    ) -> None:
        self.name, self.timeout, self.retries = name, timeout, retries
        self.session = requests.Session()
        # limit_statuses=(): a 429 is retried below, not answered by stalling every call
        limiter = LimiterAdapter(
            **rate,
            burst=burst,
            per_host=False,
            limit_statuses=(),
            pool_connections=connections,
            pool_maxsize=connections,
        )
        self.session.mount("http://", limiter)
        self.session.mount("https://", limiter)
        # requests reads the proxy and CA settings of the environment on every call (a walk of
        # os.environ: a third of a send's CPU in an Airflow worker); read them once instead
        self.session.trust_env = False
        self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
            "CURL_CA_BUNDLE", True
        )
        self._proxies: dict[str, dict[str, str]] = {}
        self._backoff = wait_exponential_jitter(
            multiplier=retries.backoff_seconds, max=retries.backoff_max_seconds
        )

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retry) and error.retry_after is not None:
            return error.retry_after
        return self._backoff(state)

    def _proxy(self, url: str) -> dict[str, str]:
        """The environment's proxies for the URL's host (``HTTPS_PROXY``, ``NO_PROXY``, ...)."""
        host = urlsplit(url).netloc
        if host not in self._proxies:
            self._proxies[host] = requests.utils.get_environ_proxies(url)
        return self._proxies[host]

    def call(self, method: str, url: str, *, sends: bool, **kwargs: Any) -> requests.Response:
        """One call, retried while that cannot do anything twice. ``sends``: the call creates
        something at the server, so a timeout or a 5xx after the request left raises
        `Ambiguous` instead of being retried. Returns any response below 500 but 429; the
        caller reads 4xx."""
        path = urlsplit(url).path  # never the query string in messages: it may hold secrets
        what = f"{self.name} {method} {path}"
        retrying = Retrying(
            retry=retry_if_exception_type(_Retry),
            wait=self._wait,
            stop=stop_after_attempt(self.retries.attempts),
            reraise=True,
            before_sleep=lambda s: log.log(
                self.retries.log_level,
                "%s: %s; retry %d",
                what,
                s.outcome.exception(),
                s.attempt_number,
            ),
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, url, what, sends, kwargs)
        except _Retry as exc:
            raise Unavailable(f"{what}: {exc} after {self.retries.attempts} attempts") from None

    def _once(
        self, method: str, url: str, what: str, sends: bool, kwargs: dict[str, Any]
    ) -> requests.Response:
        try:
            response = self.session.request(
                method, url, timeout=self.timeout, proxies=self._proxy(url), **kwargs
            )
        except requests.ConnectionError as exc:
            if sends and not _refused(exc):
                raise Ambiguous(f"{what}: {type(exc).__name__}") from None
            raise _Retry(type(exc).__name__) from None
        except requests.Timeout as exc:  # a read timeout: the request left
            if sends:
                raise Ambiguous(f"{what}: {type(exc).__name__}") from None
            raise _Retry(type(exc).__name__) from None
        if response.status_code == 429:
            raise _Retry("HTTP 429", self._retry_after(response))
        if response.status_code >= 500:
            if sends:
                raise Ambiguous(f"{what}: HTTP {response.status_code}", response.status_code)
            raise _Retry(f"HTTP {response.status_code}")
        return response

    def _retry_after(self, response: requests.Response) -> float | None:
        """The 429's Retry-After in seconds (a number or an HTTP date), within bounds."""
        value = response.headers.get("Retry-After")
        if not value:
            return self.retries.retry_after_default
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                return self.retries.retry_after_default
        return min(max(seconds, 0.0), self.retries.retry_after_max)
