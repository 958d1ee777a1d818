"""The outside services a message goes through, each behind one small client speaking its real
API (the sandbox serves the same APIs locally): SendGrid or an SMTP relay (email), Twilio (sms),
a video platform (personalised shares), a Trustpilot-style review platform (invitation links).
Recruiter call tasks go through the ATS client (`aftercare.ats`).

Every HTTP client shares one `Transport`: a rate-limited session (per provider, split between
the send tasks that may run at once), retries with backoff where a retry cannot send twice, and
the one distinction exactly-once rests on: a call that surely did not reach the provider
(refused connection, 429, a 5xx on a look-up) is retried; a call that may have (a timeout after
the request left, a dropped connection, a 5xx on a send) raises `Ambiguous`, and the caller looks
the message up before it sends again.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import smtplib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests_ratelimiter import LimiterAdapter
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

log = logging.getLogger(__name__)


class ProviderError(RuntimeError):
    """A provider refused a call for good (a 4xx other than 429): ``status`` and, when the
    provider gives one, its error ``code``."""

    def __init__(self, what: str, status: int, code: int | str | None = None) -> None:
        super().__init__(f"{what}: HTTP {status}" + (f" code {code}" if code else ""))
        self.what, self.status, self.code = what, status, code

    @property
    def reason(self) -> str:
        """A reason code for the ledger, e.g. ``twilio_21211`` or ``video_404``."""
        provider = self.what.split()[0].lower()
        return f"{provider}_{self.code or self.status}".replace(" ", "_")


class Unavailable(RuntimeError):
    """The provider could not be reached or kept failing (429, 5xx) through every attempt; the
    call surely had no effect, or (for look-ups) it does not matter."""


class Ambiguous(RuntimeError):
    """A send may have reached the provider without our knowing: look it up before resending."""


class CannotTell(RuntimeError):
    """The provider keeps no record to look a message up in."""


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
    """HTTP for one provider: a rate limit of ``per_second`` calls, ``concurrency`` pooled
    connections, ``attempts`` tries with exponential backoff (or the provider's Retry-After)."""

    def __init__(
        self, name: str, *, per_second: float, concurrency: int, timeout: float, attempts: int
    ) -> None:
        self.name, self.timeout, self.attempts = name, timeout, attempts
        self.session = requests.Session()
        # limit_statuses=(): a 429 is retried below, not answered by stalling every call
        limiter = LimiterAdapter(
            per_second=per_second,
            burst=max(1, concurrency),
            per_host=False,
            limit_statuses=(),
            pool_connections=concurrency,
            pool_maxsize=concurrency,
            max_delay=None,
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
        self._backoff = wait_exponential_jitter(multiplier=0.2, max=10)

    def _wait(self, state: Any) -> float:
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
        something at the provider (a message, a share), so a timeout or a 5xx after the request
        left raises `Ambiguous` instead of being retried. Returns any response below 500 but
        429; the caller reads 4xx."""
        path = urlsplit(url).path  # never the query string in messages: it may hold addresses
        what = f"{self.name} {method} {path}"
        retrying = Retrying(
            retry=retry_if_exception_type(_Retry),
            wait=self._wait,
            stop=stop_after_attempt(self.attempts),
            reraise=True,
            before_sleep=lambda s: log.info(
                "%s: %s; retry %d", what, s.outcome.exception(), s.attempt_number
            ),
        )
        try:
            for attempt in retrying:
                with attempt:
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
                        raise _Retry("HTTP 429", _retry_after(response))
                    if response.status_code >= 500:
                        if sends:
                            raise Ambiguous(f"{what}: HTTP {response.status_code}")
                        raise _Retry(f"HTTP {response.status_code}")
                    return response
        except _Retry as exc:
            raise Unavailable(f"{what}: {exc} after {self.attempts} attempts") from None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return min(max(float(value), 0.0), 30.0) if value else None
    except ValueError:
        return None


def _checked(code: int, answer: bytes) -> None:
    """An SMTP reply: 2xx/3xx go on; 4xx is a temporary refusal (nothing taken: `Unavailable`);
    5xx a permanent one (`ProviderError`)."""
    if 400 <= code < 500:
        raise Unavailable(f"SMTP {code}")
    if code >= 500:
        raise ProviderError("SMTP", 550, code)


def _json_error(response: requests.Response, key: str) -> Any:
    try:
        return response.json().get(key)
    except (ValueError, AttributeError):
        return None


# ------------------------------------------------------------------------------------------------
# email


@dataclass(frozen=True)
class Email:
    """One email to one recipient; ``touchpoint_id`` travels with it (custom arg, header)."""

    touchpoint_id: str
    to: str
    to_name: str
    subject: str
    text: str
    html: str
    category: str


@dataclass(frozen=True)
class Sender:
    email: str
    name: str
    reply_to: str


class SendGrid:
    """SendGrid v3: ``POST /v3/mail/send`` (202, ``X-Message-Id``), and the Email Activity
    API to find a message by our touchpoint id (custom args are its unique args)."""

    def __init__(self, transport: Transport, base_url: str, api_key: str, sender: Sender) -> None:
        self.transport, self.base_url, self.sender = transport, base_url.rstrip("/"), sender
        self.headers = {"Authorization": f"Bearer {api_key}"}

    def send(self, email: Email) -> str:
        body = {
            "personalizations": [
                {
                    "to": [{"email": email.to, "name": email.to_name}],
                    "custom_args": {"touchpoint_id": email.touchpoint_id},
                }
            ],
            "from": {"email": self.sender.email, "name": self.sender.name},
            "reply_to": {"email": self.sender.reply_to},
            "subject": email.subject,
            "content": [
                {"type": "text/plain", "value": email.text},
                {"type": "text/html", "value": email.html},
            ],
            "categories": ["aftercare", email.category],
        }
        response = self.transport.call(
            "POST", f"{self.base_url}/v3/mail/send", sends=True, json=body, headers=self.headers
        )
        if response.status_code != 202:
            raise ProviderError("SendGrid mail send", response.status_code)
        return response.headers["X-Message-Id"]

    def find(self, touchpoint_id: str) -> str | None:
        """The X-Message-Id of the message sent for a touchpoint, if SendGrid has one."""
        messages = self._search(f"unique_args['touchpoint_id']=\"{touchpoint_id}\"", limit=10)
        # each recipient's msg_id is the request's X-Message-Id plus ".filter..."
        return messages[0]["msg_id"].split(".", 1)[0] if messages else None

    def changed(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """The messages with an event between two instants (at most 1,000 a call: the caller
        asks for windows small enough)."""
        query = f'last_event_time BETWEEN TIMESTAMP "{_iso(since)}" AND TIMESTAMP "{_iso(until)}"'
        return self._search(query, limit=1000)

    def _search(self, query: str, limit: int) -> list[dict[str, Any]]:
        """Email Activity's messages matching a query."""
        response = self.transport.call(
            "GET",
            f"{self.base_url}/v3/messages",
            sends=False,
            params={"limit": limit, "query": query},
            headers=self.headers,
        )
        if response.status_code != 200:
            raise ProviderError("SendGrid email activity", response.status_code)
        return response.json().get("messages") or []

    def message(self, msg_id: str) -> dict[str, Any]:
        """One message with its events (and unique args: our touchpoint id)."""
        response = self.transport.call(
            "GET", f"{self.base_url}/v3/messages/{msg_id}", sends=False, headers=self.headers
        )
        if response.status_code != 200:
            raise ProviderError("SendGrid email activity", response.status_code)
        return response.json()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Smtp:
    """An SMTP relay (Airflow connection ``aftercare_smtp``: host, port, login, password;
    extra ``starttls``). Sends text and HTML; its answer is all we learn, so a message whose
    answer was lost cannot be looked up (see the runbook)."""

    def __init__(self, connection: Any, sender: Sender, timeout: float) -> None:
        self.connection, self.sender, self.timeout = connection, sender, timeout
        self._local = threading.local()  # one SMTP session per sending thread
        self._clients: list[smtplib.SMTP] = []

    def _client(self) -> smtplib.SMTP:
        """This thread's session, opened (and logged in) when it has none. Nothing is sent
        yet, so any failure here is safe to retry: `Unavailable`; refused credentials stop the
        task (every send would fail)."""
        client = getattr(self._local, "client", None)
        if client is not None:
            return client
        conn = self.connection
        try:
            client = smtplib.SMTP(conn.host, conn.port or 25, timeout=self.timeout)
            client.ehlo_or_helo_if_needed()
            if (conn.extra_dejson or {}).get("starttls"):
                client.starttls()
                client.ehlo()
            if conn.login:
                client.login(conn.login, conn.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderError("SMTP login", 401, exc.smtp_code) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise Unavailable(f"SMTP connect: {type(exc).__name__}") from None
        self._local.client = client
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                pass
        self._clients.clear()

    def send(self, email: Email) -> str:
        message = EmailMessage()
        message["From"] = f"{self.sender.name} <{self.sender.email}>"
        message["To"] = email.to
        message["Reply-To"] = self.sender.reply_to
        message["Subject"] = email.subject
        message["Date"] = format_datetime(datetime.now().astimezone())
        message["Message-ID"] = make_msgid(domain="aftercare")
        message["X-Aftercare-Touchpoint"] = email.touchpoint_id
        # quoted-printable: 7-bit safe for any relay (no 8BITMIME or SMTPUTF8 needed)
        message.set_content(email.text, cte="quoted-printable")
        message.add_alternative(email.html, subtype="html", cte="quoted-printable")
        for fresh in (False, True):  # a pooled session the relay closed: one new session
            client = self._client()
            try:
                # the envelope first: a refusal or a dropped session here sent nothing
                try:
                    _checked(*client.mail(self.sender.email))
                    _checked(*client.rcpt(email.to))
                except (ProviderError, Unavailable):
                    client.rset()  # the session stays usable for the next message
                    raise
            except smtplib.SMTPServerDisconnected:
                self._local.client = None
                if fresh:
                    raise Unavailable("SMTP: the relay closed the session") from None
                continue
            except (smtplib.SMTPException, OSError) as exc:
                self._local.client = None
                raise Unavailable(f"SMTP envelope: {type(exc).__name__}") from None
            break
        try:
            _checked(*client.data(message.as_bytes(policy=email_policy.SMTP)))  # CRLF lines
        except smtplib.SMTPDataError as exc:  # a reply: the relay did not take the message
            _checked(exc.smtp_code, exc.smtp_error)
            raise Ambiguous(f"SMTP data: reply {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:  # the message may have been taken
            self._local.client = None
            raise Ambiguous(f"SMTP data: {type(exc).__name__}") from None
        return message["Message-ID"]

    def find(self, touchpoint_id: str) -> str | None:
        """SMTP keeps no record we can ask: an unconfirmed send stays unconfirmed."""
        raise CannotTell("an SMTP relay keeps no record to look a message up in")


# ------------------------------------------------------------------------------------------------
# sms


@dataclass(frozen=True)
class TwilioAccount:
    account_sid: str
    auth_token: str
    from_number: str | None = None
    messaging_service_sid: str | None = None


class Twilio:
    """Twilio Programmable Messaging (2010-04-01): create a message (201, ``sid``); find one by
    recipient, day and body (Twilio keeps no reference of ours)."""

    def __init__(self, transport: Transport, base_url: str, account: TwilioAccount) -> None:
        self.transport, self.account = transport, account
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account.account_sid}/Messages.json"
        self.auth = (account.account_sid, account.auth_token)

    def send(self, to: str, body: str) -> str:
        form = {"To": to, "Body": body}
        if self.account.messaging_service_sid:
            form["MessagingServiceSid"] = self.account.messaging_service_sid
        else:
            form["From"] = self.account.from_number or ""
        response = self.transport.call("POST", self.url, sends=True, data=form, auth=self.auth)
        if response.status_code != 201:
            raise ProviderError(
                "Twilio create message", response.status_code, _json_error(response, "code")
            )
        return response.json()["sid"]

    def find(self, to: str, body_sha256: str, since: datetime, taken: frozenset[str]) -> str | None:
        """The sid of the first message we sent to ``to`` since ``since`` whose body hashes to
        ``body_sha256``, other than the ``taken`` ones (known to be other touchpoints'). By
        creation time (a queued message has no ``date_sent`` yet): the listing is newest first
        and stops at the first older one."""
        first = None
        for message in self.messages({"To": to}):
            if parsedate_to_datetime(message["date_created"]) < since:
                break
            body = (message.get("body") or "").encode()
            outbound = message.get("direction", "").startswith("outbound")
            mine = hashlib.sha256(body).hexdigest() == body_sha256
            if outbound and mine and message["sid"] not in taken:
                first = message["sid"]
        return first

    def messages(self, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every message matching Twilio's list filters (``To``, ``From``, ``DateSent>``, ...),
        page by page, newest first."""
        params: dict[str, Any] | None = {**filters, "PageSize": 1000}
        url: str | None = self.url
        # next_page_uri is relative to the API's root: api.twilio.com (or the sandbox's mount)
        root = self.url.split("/2010-04-01/")[0]
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.url))
        while url:
            response = self.transport.call("GET", url, sends=False, params=params, auth=self.auth)
            if response.status_code != 200:
                raise ProviderError(
                    "Twilio list messages", response.status_code, _json_error(response, "code")
                )
            page = response.json()
            yield from page.get("messages", [])
            next_uri = page.get("next_page_uri")
            url = (
                (root if next_uri.startswith("/2010-04-01/") else origin) + next_uri
                if next_uri
                else None
            )
            params = None


# ------------------------------------------------------------------------------------------------
# links: video shares and review invitations


class VideoPlatform:
    """A video platform's personalised shares: ``POST /v1/shares`` -> ``{"id", "url"}``."""

    def __init__(self, transport: Transport, base_url: str, api_key: str) -> None:
        self.transport, self.base_url = transport, base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"}

    def share(
        self,
        video_id: str,
        reference: str,
        first_name: str,
        job_title: str,
        company: str,
        *,
        look_up_first: bool = False,
    ) -> str:
        """The URL of the touchpoint's (``reference``'s) personalised share. Creating a share is
        not idempotent at the platform, so the one share per touchpoint is kept by looking up:
        first, when an earlier try may have made it (``look_up_first``: a retried batch), and
        after a create whose answer was lost (a timeout after the platform accepted it)."""
        if look_up_first and (found := self.find_share(reference)):
            return found
        body = {
            "video_id": video_id,
            "reference": reference,
            "first_name": first_name,
            "job_title": job_title,
            "company": company,
        }
        try:
            response = self.transport.call(
                "POST", f"{self.base_url}/v1/shares", sends=True, json=body, headers=self.headers
            )
        except Ambiguous:
            if found := self.find_share(reference):
                return found
            # not made: the next try creates it (looking up first)
            raise Unavailable("video share: no answer, and none made") from None
        if response.status_code != 201:
            raise ProviderError("video share", response.status_code)
        return response.json()["url"]

    def find_share(self, reference: str) -> str | None:
        """The URL of the first share made for ``reference``, if any."""
        response = self.transport.call(
            "GET",
            f"{self.base_url}/v1/shares",
            sends=False,
            params={"reference": reference},
            headers=self.headers,
        )
        if response.status_code != 200:
            raise ProviderError("video share look-up", response.status_code)
        shares = response.json().get("data") or []
        return shares[0]["url"] if shares else None

    def views(self, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Views of personalised shares after a cursor (None: from the start): one page, and
        the cursor to ask next (None: nothing more for now)."""
        params: dict[str, Any] = {"limit": 1000, **({"after": after} if after else {})}
        response = self.transport.call(
            "GET", f"{self.base_url}/v1/views", sends=False, params=params, headers=self.headers
        )
        if response.status_code != 200:
            raise ProviderError("video views", response.status_code)
        body = response.json()
        return body.get("data") or [], body.get("next")


class ReviewPlatform:
    """A Trustpilot-style review platform: OAuth client credentials, then invitation links
    (``POST .../business-units/{id}/invitation-links`` -> ``{"id", "url"}``) carrying our
    touchpoint id as reference, so the review can be attributed."""

    def __init__(
        self,
        transport: Transport,
        *,
        api_url: str,
        invitations_url: str,
        key: str,
        secret: str,
        business_unit_id: str,
    ) -> None:
        self.transport = transport
        self.api_url, self.invitations_url = api_url.rstrip("/"), invitations_url.rstrip("/")
        self.business_unit_id = business_unit_id
        self._basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _bearer(self) -> str:
        with self._lock:
            if self._token is None or self._token[1] < time.monotonic():
                response = self.transport.call(
                    "POST",
                    f"{self.api_url}/v1/oauth/oauth-business-users-for-applications/accesstoken",
                    sends=False,
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {self._basic}"},
                )
                if response.status_code != 200:
                    raise ProviderError("review platform token", response.status_code)
                token = response.json()
                lifetime = float(token.get("expires_in") or 3600)
                self._token = (token["access_token"], time.monotonic() + lifetime * 0.9)
            return self._token[0]

    def reviews(self, since: datetime) -> Iterator[dict[str, Any]]:
        """The business unit's reviews created from ``since`` on, oldest first, page by page."""
        url: str | None = (
            f"{self.api_url}/v1/private/business-units/{self.business_unit_id}/reviews"
        )
        params: dict[str, Any] | None = {"perPage": 100, "page": 1, "startDateTime": _iso(since)}
        while url:
            response = self.transport.call(
                "GET",
                url,
                sends=False,
                params=params,
                headers={"Authorization": f"Bearer {self._bearer()}"},
            )
            if response.status_code != 200:
                raise ProviderError("review platform reviews", response.status_code)
            body = response.json()
            yield from body.get("reviews") or []
            following = [link for link in body.get("links") or [] if link.get("rel") == "next-page"]
            url, params = (following[0]["href"], None) if following else (None, None)

    def invitation_link(self, reference: str, email: str | None, name: str, locale: str) -> str:
        body = {"referenceId": reference, "name": name, "locale": locale, "tags": ["aftercare"]}
        if email:
            body["email"] = email
        unit = f"{self.invitations_url}/v1/private/business-units/{self.business_unit_id}"
        url = f"{unit}/invitation-links"
        response = self.transport.call(
            "POST",
            url,
            sends=False,
            json=body,
            headers={"Authorization": f"Bearer {self._bearer()}"},
        )
        if response.status_code != 200:
            raise ProviderError("review invitation link", response.status_code)
        return response.json()["url"]
