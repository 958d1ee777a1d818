"""The Bullhorn REST API client (also what the sandbox ATS serves).

Connection ``aftercare_ats`` (conn_type ``http``):

* host: the login-info base URL, e.g. ``https://rest.bullhornstaffing.com`` (a data center's
  own ``rest-*`` host works too; Bullhorn redirects to the right one);
* login / password: the API user, for the headless OAuth authorize step;
* extra: ``client_id``, ``client_secret`` (the OAuth client), optional ``redirect_uri``, and
  optional ``oauth_url`` + ``rest_url`` to skip the login-info discovery.

Auth: loginInfo -> authorize (code) -> token -> ``rest-services/login`` -> BhRestToken and
restUrl. A 401 refreshes the OAuth token and logs in again, a 412 logs in again; then the call
is repeated once. Calls go through `aftercare.http.Transport`, rate-limited to
``ats.rate_limit_per_minute``: a 429 waits Retry-After (else 1 s), and 5xx / timeouts back off
exponentially, up to ``ats.max_attempts``, except on a create (a task, a note), which a lost
answer may have made: that is an `AtsError` the caller looks up before creating again.
Credentials travel in request bodies, never in URLs or logs.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import requests

from aftercare.ats.base import (
    ORIGIN,
    AtsDataError,
    AtsError,
    Cursor,
    Entity,
    FieldMeta,
    Page,
    RecruiterTask,
)
from aftercare.config import AtsSettings
from aftercare.http import Ambiguous, Retries, Transport, Unavailable

log = logging.getLogger(__name__)

#: The fields we ask for, per entity (nested to-one sub-fields in parentheses).
FIELDS: dict[str, str] = {
    "Placement": (
        "id,status,employmentType,dateBegin,dateEnd,dateAdded,dateLastModified,candidate(id),"
        "jobOrder(id,title,clientCorporation(id,name)),owner(id,firstName,lastName,email)"
    ),
    "Candidate": (
        "id,firstName,lastName,email,mobile,phone,dateOfBirth,address(countryID),"
        "timeZoneOffsetEST,massMailOptOut,smsOptIn,isDeleted,isAnonymized,referredByPerson(id),"
        "dateAdded,dateLastModified"
    ),
    "Task": "id,subject,type,description,candidate(id),placement(id),owner(id),dateBegin,"
    "isCompleted,dateCompleted,dateAdded,dateLastModified",
    "Note": "id,comments,action,personReference(id),dateAdded",
    "Country": "id,code,name",
}
#: Entities we page through ``search/`` (Lucene), never ``query/``: Bullhorn's own Java SDK
#: (bullhorn/sdk-rest) types Candidate (and Note, which we only look up by search) as search
#: entities, not query entities.
SEARCH_ONLY = frozenset({"Candidate"})
#: The share of a page a search page re-reads before its start when it resumes inside one
#: second of dateLastModified (Lucene ranges are whole seconds): a few rows of that second may
#: have moved to the end of the feed meanwhile, shifting the rest forward (100 rows of 500).
_SEARCH_REREAD = 0.2


def _top_level(fields: str) -> list[str]:
    """``a,b(c,d),e`` -> ``[a, b, e]``."""
    names, depth, current = [], 0, ""
    for char in fields + ",":
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            names.append(current)
            current = ""
        elif depth == 0:
            current += char
    return names


_REQUIRED = {entity: _top_level(fields) for entity, fields in FIELDS.items()}
#: Fields that must be integers (epoch ms or ids) or null; a string there is a malformed page.
_INTEGERS = {
    "Placement": ("dateBegin", "dateEnd", "dateAdded", "candidate.id", "owner.id"),
    "Candidate": ("dateOfBirth", "dateAdded", "timeZoneOffsetEST", "referredByPerson.id"),
}
#: The longest Retry-After we honour before trying again anyway.
_MAX_RETRY_AFTER_SECONDS = 120.0
#: Decodes page bodies: a 500-record page in about 1.5 ms against 5-8 ms for `json`, which in a
#: process with a big heap (an Airflow task) spends most of that in garbage collector passes.
_JSON = msgspec.json.Decoder()
#: Pages fetched ahead of the caller (memory: this many pages at most, besides the caller's).
_PREFETCH_PAGES = 12


@dataclass(frozen=True)
class BullhornCredentials:
    login_info_url: str
    api_user: str
    api_password: str = field(repr=False)
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str | None = None
    oauth_url: str | None = None
    rest_url: str | None = None

    @classmethod
    def from_connection(cls, conn: Any) -> BullhornCredentials:
        extra = conn.extra_dejson or {}
        missing = [
            name
            for name, value in (
                ("host", conn.host),
                ("login", conn.login),
                ("password", conn.password),
                ("extra.client_id", extra.get("client_id")),
                ("extra.client_secret", extra.get("client_secret")),
            )
            if not value
        ]
        if missing:
            raise AtsError(f"connection {conn.conn_id!r} lacks {', '.join(missing)}")
        host = conn.host if "://" in conn.host else f"https://{conn.host}"
        if conn.port and "://" not in conn.host:
            host = f"{host}:{conn.port}"
        return cls(
            login_info_url=host.rstrip("/"),
            api_user=conn.login,
            api_password=conn.password,
            client_id=extra["client_id"],
            client_secret=extra["client_secret"],
            redirect_uri=extra.get("redirect_uri"),
            oauth_url=extra.get("oauth_url"),
            rest_url=extra.get("rest_url"),
        )


#: Connections kept open to the ATS: enough for the threads of a dispatch task creating call
#: tasks (dispatch.providers.ats.concurrency at most), so none is opened per call.
_POOL_SIZE = 32


class BullhornAts:
    """`aftercare.ats.base.Ats` over the Bullhorn REST API."""

    def __init__(self, credentials: BullhornCredentials, settings: AtsSettings) -> None:
        self._credentials = credentials
        self._settings = settings
        self._transport = Transport(
            "ATS",
            rate={"per_minute": settings.rate_limit_per_minute},
            connections=_POOL_SIZE,
            timeout=settings.timeout_seconds,
            retries=Retries(
                attempts=settings.max_attempts,
                backoff_seconds=0.5,
                backoff_max_seconds=30,
                retry_after_max=_MAX_RETRY_AFTER_SECONDS,
                retry_after_default=1.0,  # Bullhorn: "wait 1 s and retry"
                log_level=logging.WARNING,
            ),
        )
        self._session_lock = threading.Lock()
        self._oauth_url = credentials.oauth_url
        self._rest_services_url = credentials.rest_url
        self._access_token: str | None = None
        self._refresh_token: str | None = None
        self._bh_rest_token: str | None = None
        self._rest_url: str | None = None

    def _send(
        self, method: str, url: str, *, sends: bool = False, **kwargs: Any
    ) -> requests.Response:
        """One HTTP call through the transport; what it could not do is an `AtsError`
        (``status``: the 5xx a send was answered with)."""
        try:
            return self._transport.call(method, url, sends=sends, **kwargs)
        except Unavailable as exc:
            raise AtsError(str(exc)) from None
        except Ambiguous as exc:
            raise AtsError(str(exc), status=exc.status) from None

    # ----------------------------------------------------------------------------------------
    # auth

    def _discover(self) -> None:
        if self._oauth_url and self._rest_services_url:
            return
        response = self._send(
            "GET",
            f"{self._credentials.login_info_url}/rest-services/loginInfo",
            params={"username": self._credentials.api_user},
        )
        body = self._auth_json(response, "loginInfo")
        self._oauth_url, self._rest_services_url = body["oauthUrl"], body["restUrl"]

    def _authorize(self) -> str:
        data = {
            "client_id": self._credentials.client_id,
            "response_type": "code",
            "action": "Login",
            "username": self._credentials.api_user,
            "password": self._credentials.api_password,
        }
        if self._credentials.redirect_uri:
            data["redirect_uri"] = self._credentials.redirect_uri
        response = self._send(
            "POST", f"{self._oauth_url}/authorize", data=data, allow_redirects=False
        )
        code = parse_qs(urlsplit(response.headers.get("Location", "")).query).get("code")
        if response.status_code not in (301, 302, 303, 307) or not code:
            raise AtsError(f"ATS authorize refused (HTTP {response.status_code})")
        return code[0]

    def _token(self, grant: dict[str, str]) -> None:
        data = {
            **grant,
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret,
        }
        body = self._auth_json(self._send("POST", f"{self._oauth_url}/token", data=data), "token")
        self._access_token, self._refresh_token = body["access_token"], body.get("refresh_token")

    def _login(self) -> None:
        response = self._send(
            "POST",
            f"{self._rest_services_url.rstrip('/')}/login",
            params={"version": "*", "access_token": self._access_token},
        )
        body = self._auth_json(response, "login")
        self._bh_rest_token, self._rest_url = body["BhRestToken"], body["restUrl"]

    def _auth_json(self, response: requests.Response, step: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise AtsError(f"ATS {step} refused (HTTP {response.status_code})")
        try:
            return response.json()
        except ValueError:
            raise AtsError(f"ATS {step} answered with invalid JSON") from None

    def _authenticate(self) -> None:
        """The whole flow, from login info to a REST session."""
        self._discover()
        self._token({"grant_type": "authorization_code", "code": self._authorize()})
        self._login()
        log.info("ATS session opened")

    def _renew(self, status: int) -> None:
        """After a 412 (no session) log in again; after a 401 refresh first. Fall back to the
        whole flow when the refresh token is spent or rejected."""
        try:
            if status == 401 or self._access_token is None:
                if self._refresh_token is None:
                    raise AtsError("no refresh token")
                self._token({"grant_type": "refresh_token", "refresh_token": self._refresh_token})
            self._login()
        except AtsError:
            self._authenticate()
        log.info("ATS session renewed after HTTP %d", status)

    # ----------------------------------------------------------------------------------------
    # REST calls

    def _rest(
        self, method: str, path: str, *, sends: bool = False, **kwargs: Any
    ) -> requests.Response:
        with self._session_lock:  # threads (dispatch's call tasks) share one session
            if self._bh_rest_token is None:
                self._authenticate()
        for renewed in (False, True):
            token = self._bh_rest_token
            response = self._send(
                method,
                f"{self._rest_url}{path}",
                headers={"BhRestToken": token},
                sends=sends,
                **kwargs,
            )
            if response.status_code not in (401, 412) or renewed:
                break
            with self._session_lock:
                if self._bh_rest_token == token:  # no other thread renewed it meanwhile
                    self._renew(response.status_code)
        if response.status_code >= 400:
            raise AtsError(
                f"ATS {method} {path}: HTTP {response.status_code} {_error(response)}",
                status=response.status_code,
            )
        return response

    def _rest_json(self, path: str, params: dict[str, Any], entity: str, page: int) -> Any:
        return self._rest_page(path, params, entity, page)[0]

    def _rest_page(
        self, path: str, params: dict[str, Any], entity: str, page: int
    ) -> tuple[Any, str]:
        """A GET's decoded JSON and its text."""
        text = self._rest("GET", path, params=params).text
        try:
            return _JSON.decode(text), text
        except msgspec.DecodeError:
            raise AtsDataError(entity, page, "the response is not valid JSON") from None

    def _records(self, entity: str, page: int, body: Any, required: list[str]) -> list[dict]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise AtsDataError(entity, page, "the response has no 'data' list")
        for position, record in enumerate(data):
            if not isinstance(record, dict):
                raise AtsDataError(entity, page, f"row {position} is not an object")
            absent = [name for name in required if name not in record]
            if absent:
                raise AtsDataError(
                    entity, page, f"row {position} lacks field(s) {', '.join(absent)}"
                )
            for name in ("id", "dateLastModified"):
                if name in required and not isinstance(record[name], int):
                    raise AtsDataError(entity, page, f"row {position} has a non-integer {name}")
            for path in _INTEGERS.get(entity, ()) if required is _REQUIRED.get(entity) else ():
                value = _at(record, path)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise AtsDataError(entity, page, f"row {position} has a non-integer {path}")
        return data

    def _page(self, kind: str, entity: str, params: dict[str, Any], number: int) -> Page:
        """One page of ``query/`` or ``search/`` (``kind``), its records checked."""
        body, text = self._rest_page(f"{kind}/{entity}", params, entity, number)
        return Page(entity, number, self._records(entity, number, body, _REQUIRED[entity]), text)

    def _query_feed(self, entity: str, after: Cursor) -> Iterator[Page]:
        """Pages of ``query/``: each starts strictly after the last row of the one before."""
        cursor, number, size = after, 1, self._settings.page_size
        while True:
            at, last_id = cursor.date_last_modified_ms, cursor.record_id
            params = {
                "where": f"dateLastModified>{at} OR (dateLastModified={at} AND id>{last_id})",
                "fields": FIELDS[entity],
                "orderBy": "dateLastModified,id",
                "start": 0,
                "count": size,
            }
            page = self._page("query", entity, params, number)
            yield page
            if len(page.records) < size:
                return
            cursor, number = page.end, number + 1

    def _search_feed(self, entity: str, after: Cursor) -> Iterator[Page]:
        """Pages of ``search/``: a Lucene range from the second of the last row read
        (``dateLastModified:[yyyyMMddHHmmss TO *]``, UTC, whole seconds), sorted as the query
        feed. Rows of that second read already are skipped with ``start`` (which grows only
        while one second holds more rows than a page: a mass update), less a fifth of a page
        read again. A page that starts after the last row read (rows of that second moved to
        the end of the feed meanwhile, and the rest shifted forward) is read again from the
        second's first row, so nothing is skipped. Pages may repeat rows of the page before:
        the same versions, deduplicated by id in staging."""
        size = self._settings.page_size
        reread = int(size * _SEARCH_REREAD)  # below a page: each page moves the feed on
        second = None if after == ORIGIN else _second(after.date_last_modified_ms)
        seen, number, read_to = 0, 1, after  # seen: rows of `second` read so far
        while True:
            start = max(seen - reread, 0)
            params = {
                "query": f"dateLastModified:[{_lucene_instant(second)} TO *]",
                "fields": FIELDS[entity],
                "sort": "dateLastModified,id",
                "start": start,
                "count": size,
            }
            page = self._page("search", entity, params, number)
            first = page.records[0] if page.records else None
            if start and first and (first["dateLastModified"], first["id"]) > astuple(read_to):
                seen = 0  # a gap: the second again from its first row
                continue
            yield page
            if len(page.records) < size:
                return
            last, read_to = _second(page.end.date_last_modified_ms), page.end
            if last == second:
                seen = start + len(page.records)
            else:
                second = last
                seen = sum(_second(r["dateLastModified"]) == last for r in page.records)
            number += 1

    def changes(self, entity: Entity, after: Cursor) -> Iterator[Page]:
        """Keyset paging on (dateLastModified, id): a row changed while we page moves to the end
        of the feed and is met again, never skipped. Placements through ``query/`` (a JPQL
        ``where`` on epoch ms), candidates through ``search/`` (Lucene: see `_search_feed`). A
        background thread fetches up to ``_PREFETCH_PAGES`` pages ahead while the caller stores
        the ones it has."""
        feed: queue.Queue[Page | BaseException | None] = queue.Queue(maxsize=_PREFETCH_PAGES)
        stopped = threading.Event()

        def hand_over(item: Page | BaseException | None) -> None:
            while not stopped.is_set():
                try:
                    feed.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        def fetch() -> None:
            feed_pages = (
                self._search_feed(entity, after)
                if entity in SEARCH_ONLY
                else self._query_feed(entity, after)
            )
            try:
                for page in feed_pages:
                    if stopped.is_set():
                        break
                    hand_over(page)
                hand_over(None)
            except BaseException as exc:  # handed to the caller, raised there
                hand_over(exc)

        fetcher = threading.Thread(target=fetch, name=f"ats-{entity}-pages", daemon=True)
        fetcher.start()
        try:
            while (item := feed.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                if item.records:
                    yield item
        finally:
            stopped.set()
            fetcher.join()

    def placement_ids(self) -> Iterator[list[int]]:
        last, number = -1, 1
        while True:
            params = {
                "where": f"id>{last}",
                "fields": "id",
                "orderBy": "id",
                "start": 0,
                "count": self._settings.page_size,
            }
            body = self._rest_json("query/Placement", params, "Placement", number)
            ids = [record["id"] for record in self._records("Placement", number, body, ["id"])]
            if ids:
                yield ids
                last = ids[-1]
            if len(ids) < self._settings.page_size:
                return
            number += 1

    def create_task(self, task: RecruiterTask) -> int:
        begin = int(task.due.timestamp() * 1000)
        body = {
            "subject": task.subject,
            "type": task.kind,
            "description": task.description,
            "candidate": {"id": task.candidate_id},
            "owner": {"id": task.owner_id},
            "dateBegin": begin,
            "dateEnd": begin + 30 * 60 * 1000,
            "priority": 2,
            "isCompleted": False,
            **task.extra,
        }
        if task.placement_id is not None:
            body["placement"] = {"id": task.placement_id}
        # a 5xx may have created the task: the caller looks it up before trying again
        response = self._rest("PUT", "entity/Task", json=body, sends=True)
        return int(response.json()["changedEntityId"])

    def find_tasks(self, text: str) -> list[dict[str, Any]]:
        return self._search("Task", "description", text)

    def completed_tasks(self, modified_after_ms: int) -> Iterator[Page]:
        where = f"isCompleted=true AND dateLastModified>{int(modified_after_ms)}"
        yield from self._query_pages("Task", where, "dateLastModified,id")

    def create_note(self, candidate_id: int, comments: str, action: str) -> int:
        body = {"comments": comments, "action": action, "personReference": {"id": candidate_id}}
        # a 5xx may have created the note: the caller looks it up before trying again
        response = self._rest("PUT", "entity/Note", json=body, sends=True)
        return int(response.json()["changedEntityId"])

    def opt_out_of_mass_mail(self, candidate_id: int) -> int:
        """An entity update (``POST entity/Candidate/{id}``) of ``massMailOptOut``."""
        path = f"entity/Candidate/{int(candidate_id)}"
        response = self._rest("POST", path, json={"massMailOptOut": True}, sends=False)
        return int(response.json()["changedEntityId"])

    def find_notes(self, text: str) -> list[dict[str, Any]]:
        return self._search("Note", "comments", text)

    def referred_candidates(self, added_after_ms: int) -> Iterator[Page]:
        """Candidates added since the instant (whole seconds: a few before it too) whom another
        candidate referred: ``referredByPerson`` is a Person (``_subtype`` Candidate,
        ClientContact or CorporateUser), and only a candidate's referral is one of ours."""
        since = _lucene_instant(_second(int(added_after_ms)))
        query = f"referredByPerson.id:[* TO *] AND dateAdded:[{since} TO *]"
        for page in self._search_pages("Candidate", query, "dateAdded,id"):
            referred = [
                record
                for record in page.records
                if (record.get("referredByPerson") or {}).get("_subtype") == "Candidate"
            ]
            yield Page(page.entity, page.number, referred, page.body)

    def countries(self) -> dict[int, str]:
        """The corporation's country table: Bullhorn's country id -> its code (Bullhorn's own
        codes: "UK" for the United Kingdom, "NONE" for none specified)."""
        return {
            int(record["id"]): str(record.get("code") or "").strip()
            for page in self._query_pages("Country", "id>0", "id")
            for record in page.records
        }

    def records(self, entity: Entity, ids: list[int]) -> list[dict[str, Any]]:
        """``entity/{entity}/{ids}``: one record comes as an object, several as a list, and
        none found is a 404."""
        if not ids:
            return []
        path = f"entity/{entity}/{','.join(str(int(i)) for i in ids)}"
        try:
            body = self._rest_json(path, {"fields": FIELDS[entity]}, entity, 1)
        except AtsError as exc:
            if exc.status == 404:
                return []
            raise
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            body = {"data": [body["data"]]}
        return self._records(entity, 1, body, _REQUIRED[entity])

    def fields(self, entity: Entity) -> dict[str, FieldMeta]:
        """Bullhorn's ``meta/{entity}?fields=...&meta=full`` for the fields we read."""
        params = {"fields": ",".join(_REQUIRED[entity]), "meta": "full"}
        body = self._rest_json(f"meta/{entity}", params, entity, 1)
        described = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(described, list):
            raise AtsDataError(entity, 1, "the meta response has no 'fields' list")
        found = {
            str(field["name"]): FieldMeta(
                name=str(field["name"]),
                options=tuple(
                    str(option["value"]) for option in field.get("options") or () if option
                ),
                multi_value=bool(field.get("multiValue")),
            )
            for field in described
            if isinstance(field, dict) and "name" in field
        }
        if missing := [name for name in _REQUIRED[entity] if name not in found]:
            raise AtsError(f"ATS meta/{entity} does not describe field(s) {', '.join(missing)}")
        return found

    def _search(self, entity: str, field: str, text: str) -> list[dict[str, Any]]:
        """Records whose ``field`` holds the phrase ``text`` (one page: a look-up)."""
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        params = {
            "query": f'{field}:"{escaped}"',
            "fields": FIELDS[entity],
            "count": self._settings.page_size,
        }
        body = self._rest_json(f"search/{entity}", params, entity, 1)
        return self._records(entity, 1, body, ["id"])

    def _query_pages(self, entity: str, where: str, order_by: str) -> Iterator[Page]:
        """Every record matching a JPQL ``where``, page by page."""
        yield from self._offset_pages("query", entity, {"where": where, "orderBy": order_by})

    def _search_pages(self, entity: str, query: str, sort: str) -> Iterator[Page]:
        """Every record matching a Lucene ``query``, page by page."""
        yield from self._offset_pages("search", entity, {"query": query, "sort": sort})

    def _offset_pages(self, kind: str, entity: str, criteria: dict[str, str]) -> Iterator[Page]:
        start, number = 0, 1
        size = self._settings.page_size
        while True:
            params = {**criteria, "fields": FIELDS[entity], "start": start, "count": size}
            page = self._page(kind, entity, params, number)
            if page.records:
                yield page
            if len(page.records) < size:
                return
            start, number = start + size, number + 1


def _second(ms: int) -> int:
    """The whole second (epoch) an instant in epoch ms falls in."""
    return ms // 1000


def _lucene_instant(second: int | None) -> str:
    """A Lucene range bound for a date field: ``yyyyMMddHHmmss`` in UTC; ``*`` when open."""
    if second is None:
        return "*"
    return datetime.fromtimestamp(second, UTC).strftime("%Y%m%d%H%M%S")


def _at(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _error(response: requests.Response) -> str:
    try:
        return str(response.json().get("errorMessage", ""))[:200]
    except ValueError:
        return ""
