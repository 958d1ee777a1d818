"""The sandbox ATS over HTTP: Bullhorn's endpoints (under ``/ats``) and the sandbox's admin
endpoints (under ``/sandbox/ats``), as specified in docs/sandbox-ats.md."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

import numpy as np
from fastapi import APIRouter, Body, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute

from sandbox.ats.corporation import picklists as picklists_of
from sandbox.ats.countries import COUNTRY_ROWS
from sandbox.ats.meta import describe
from sandbox.ats.query import (
    QueryError,
    parse_lucene,
    parse_order,
    parse_where,
    render,
    select,
    select_fields,
)
from sandbox.ats.service import AtsService, AuthError
from sandbox.ats.settings import AtsFaults, AtsSandboxSettings
from sandbox.ats.store import REQUIRED, SERVED
from sandbox.ats.world import WriteError

ATS_PREFIX = "/ats"
ADMIN_PREFIX = "/sandbox/ats"
MAX_COUNT = 500
MAX_OPTIONS = 300
DEFAULT_REDIRECT = "http://localhost/callback"
BAD_TOKEN = {
    "errorMessage": "Bad 'BhRestToken' or timed-out.",
    "errorMessageKey": "errors.authentication.invalidRestToken",
    "errorCode": 401,
}
TOO_MANY = {"errorMessage": "Too many requests", "errorCode": 429}

Handler = Callable[[Request], Awaitable[Response]]


def install(app: FastAPI, settings: AtsSandboxSettings, seed: int) -> None:
    """Mount a fresh sandbox ATS, with its own world, on ``app``."""
    app.state.ats = AtsService(settings, seed)
    app.include_router(bullhorn, prefix=ATS_PREFIX)
    app.include_router(rest, prefix=ATS_PREFIX)
    app.include_router(admin, prefix=ADMIN_PREFIX)


def _service(request: Request) -> AtsService:
    return request.app.state.ats


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"errorMessage": message, "errorCode": status, **extra}, status)


# ------------------------------------------------------------------------------------------------
# what happens around every call


def _translating(handler: Handler) -> Handler:
    """Refusals raised by the sandbox's modules become Bullhorn's error responses."""

    async def translated(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as exc:
            return _error(400, str(exc), errorMessageKey=exc.key)
        except QueryError as exc:
            return _error(400, str(exc))
        except WriteError as exc:
            return _error(400, str(exc), messages=exc.problems)
        except AuthError as exc:
            return JSONResponse(exc.body, exc.status)
        except LookupError as exc:
            return _error(404, str(exc.args[0]))

    return translated


def _guarding(handler: Handler) -> Handler:
    """The session token, the rate limit and the configured faults, in that order."""

    async def guarded(request: Request) -> Response:
        service = _service(request)
        if request.path_params.get("corp_token") != service.settings.corp_token:
            return _error(404, "Unknown corporation")
        token = (
            request.query_params.get("BhRestToken")
            or request.headers.get("BhRestToken")
            or request.cookies.get("BhRestToken")
        )
        if not token:
            return _error(412, "Missing 'BhRestToken'.")
        expires = service.session_expires(token)
        if expires is None:
            return JSONResponse(BAD_TOKEN, 401)
        request.state.session_expires = expires
        if service.over_limit():
            return JSONResponse(TOO_MANY, 429, headers={"Retry-After": "1"})
        fault = service.draw_fault()
        if fault == "429":
            return JSONResponse(TOO_MANY, 429, headers={"Retry-After": "0"})
        if fault == "500":
            return _error(500, "Internal server error")
        if fault == "slow":
            await asyncio.sleep(service.faults.slow_seconds)
        response = await handler(request)
        if fault == "truncated" and response.status_code == 200:
            body = bytes(response.body)
            return Response(body[: len(body) // 2], 200, media_type="application/json")
        return response

    return guarded


def _counting(handler: Handler, path: str) -> Handler:
    """Calls per endpoint and responses per status, for ``/sandbox/ats/stats``."""
    template = path.removeprefix(ATS_PREFIX).removeprefix("/rest-services/{corp_token}").lstrip("/")

    async def counted(request: Request) -> Response:
        response = await handler(request)
        service = _service(request)
        endpoint = template.replace("{entity}", request.path_params.get("entity", ""))
        service.calls[f"{request.method} {endpoint}"] += 1
        service.statuses[str(response.status_code)] += 1
        return response

    return counted


class _AdminRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        return _translating(super().get_route_handler())


class _AuthRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        return _counting(_translating(super().get_route_handler()), self.path_format)


class _RestRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = _guarding(_translating(super().get_route_handler()))
        return _counting(handler, self.path_format)


async def _params(request: Request) -> dict[str, str]:
    """Query parameters, and form fields for form-encoded POSTs."""
    params = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl((await request.body()).decode()))
    return params


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{ATS_PREFIX}"


def _rest_url(request: Request) -> str:
    return f"{_base(request)}/rest-services/{_service(request).settings.corp_token}/"


# ------------------------------------------------------------------------------------------------
# login info, OAuth, REST login

bullhorn = APIRouter(route_class=_AuthRoute, tags=["ats"])


@bullhorn.get("/rest-services/loginInfo")
async def login_info(request: Request) -> JSONResponse:
    """The data center's URLs for the API user."""
    if (await _params(request)).get("username") != _service(request).settings.api_user:
        raise AuthError(400, {"errorMessage": "Invalid username", "errorCode": 400})
    base = _base(request)
    return JSONResponse(
        {
            "oauthUrl": f"{base}/oauth",
            "restUrl": f"{base}/rest-services",
            "atsUrl": base,
            "dataCenterId": 99,
            "superClusterId": 99,
        }
    )


@bullhorn.api_route("/oauth/authorize", methods=["GET", "POST"])
async def authorize(request: Request) -> Response:
    """Headless authorize (``action=Login&username&password``): a 302 carrying the code."""
    params = await _params(request)
    if params.get("response_type", "code") != "code":
        raise AuthError(400, {"error": "unsupported_response_type"})
    code = _service(request).authorize(
        params.get("client_id", ""), params.get("username", ""), params.get("password", "")
    )
    target = params.get("redirect_uri") or DEFAULT_REDIRECT
    query = {"code": code, **({"state": params["state"]} if "state" in params else {})}
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}{urlencode(query)}", status_code=302)


@bullhorn.post("/oauth/token")
async def token(request: Request) -> JSONResponse:
    """Exchange an authorization code or a refresh token for tokens."""
    return JSONResponse(_service(request).token(await _params(request)))


@bullhorn.api_route("/rest-services/login", methods=["GET", "POST"])
async def login(request: Request) -> JSONResponse:
    """A REST session (BhRestToken) for an OAuth access token."""
    session = _service(request).login((await _params(request)).get("access_token", ""))
    return JSONResponse({"BhRestToken": session, "restUrl": _rest_url(request)})


# ------------------------------------------------------------------------------------------------
# REST

rest = APIRouter(prefix="/rest-services/{corp_token}", route_class=_RestRoute, tags=["ats"])


class Refused(QueryError):
    """A call Bullhorn does not answer for an entity type (query for a search-only type, search
    for a query-only one): 400 with an ``errorMessageKey``."""

    def __init__(self, entity: str, call: str) -> None:
        other = "search" if call == "query" else "query"
        super().__init__(f"Entity type '{entity}' does not support {call}: use {other}/{entity}")
        self.key = f"errors.{call}NotSupported"


def _entity(request: Request, entity: str, call: str | None = None) -> str:
    """The entity type of a call (``query``, ``search``; None: ``entity``, ``meta``)."""
    if entity not in SERVED:
        raise QueryError(f"Invalid entity type '{entity}'")
    calls = SERVED[entity]
    if entity == "Candidate" and _service(request).settings.corporation.search_only_candidates:
        calls = ("search",)
    if call is not None and call not in calls:
        raise Refused(entity, call)
    return entity


def _paging(params: dict[str, str], most: int = MAX_COUNT) -> tuple[int, int, list[dict[str, str]]]:
    """start, count (capped at ``most``) and the warning when capped."""
    try:
        start, count = int(params.get("start", 0)), int(params.get("count", 20))
    except ValueError:
        raise QueryError("start and count must be integers") from None
    if start < 0 or count < 0:
        raise QueryError("start and count must not be negative")
    if count > most:
        return start, most, [{"detailMessage": f"count capped at {most}", "severity": "WARNING"}]
    return start, count, []


@rest.get("/ping")
async def ping(request: Request) -> JSONResponse:
    """When the session expires."""
    return JSONResponse({"sessionExpires": int(request.state.session_expires * 1000)})


@rest.get("/query/{entity}")
async def query(entity: str, request: Request) -> JSONResponse:
    """JPQL-like query: ``where``, ``fields``, ``orderBy``, ``start``, ``count``; no total."""
    params, tables, entity = (
        dict(request.query_params),
        _service(request).world.tables,
        _entity(request, entity, "query"),
    )
    node = parse_where(params.get("where", ""))
    selection = select_fields(tables, entity, params.get("fields", ""))
    order = parse_order(tables, entity, params.get("orderBy", ""))
    start, count, messages = _paging(params)
    rows, _ = select(tables, entity, node, order, start, count, with_total=False)
    data = render(tables, tables[entity], rows, selection)
    body: dict[str, Any] = {"start": start, "count": len(data), "data": data}
    return JSONResponse({**body, "messages": messages} if messages else body)


@rest.get("/search/{entity}")
async def search(entity: str, request: Request) -> JSONResponse:
    """Lucene search: ``query``, ``fields`` (without: ids only), ``sort``, ``start``, ``count``;
    each hit with its ``_score``."""
    params, tables, entity = (
        dict(request.query_params),
        _service(request).world.tables,
        _entity(request, entity, "search"),
    )
    node = parse_lucene(params.get("query", ""))
    fields = params.get("fields", "")
    selection = select_fields(tables, entity, fields) if fields.strip() else None
    order = parse_order(tables, entity, params.get("sort", ""))
    start, count, messages = _paging(params)
    rows, total = select(tables, entity, node, order, start, count, with_total=True)
    table = tables[entity]
    data: list[Any] = table.ids[rows].tolist()
    if selection:
        data = [{**hit, "_score": 1.0} for hit in render(tables, table, rows, selection)]
    body = {"total": total, "start": start, "count": len(data), "data": data}
    return JSONResponse({**body, "messages": messages} if messages else body)


@rest.get("/entity/{entity}/{ids}")
async def get_entity(entity: str, ids: str, request: Request) -> JSONResponse:
    """One record (``{"data": {...}}``) or several (``{"data": [...]}``); 404 if none exist."""
    tables, entity = _service(request).world.tables, _entity(request, entity)
    selection = select_fields(tables, entity, request.query_params.get("fields", ""))
    try:
        wanted = [int(part) for part in ids.split(",")]
    except ValueError:
        raise QueryError(f"Invalid id list '{ids}'") from None
    table = tables[entity]
    found = table.positions(np.array(wanted))
    if not (found >= 0).any():
        raise LookupError(f"Cannot find entity of type '{entity}' with id {ids}")
    data = render(tables, table, found[found >= 0], selection)
    return JSONResponse({"data": data[0] if len(wanted) == 1 else data})


#: What the pipeline may create, and the defaults of its fields.
CREATABLE: dict[str, dict[str, Any]] = {"Task": {"description": ""}, "Note": {}}


@rest.put("/entity/{entity}")
async def put_entity(entity: str, request: Request) -> JSONResponse:
    """Create a Task or a Note (the entities the sandbox lets the pipeline create)."""
    if entity not in CREATABLE:
        raise QueryError(f"The sandbox creates only Task and Note entities, not '{entity}'")
    try:
        body = await request.json()
    except ValueError:
        raise QueryError("The request body is not valid JSON") from None
    record_id = _service(request).world.insert(
        entity, body, required=REQUIRED[entity], defaults=CREATABLE[entity]
    )
    return JSONResponse(
        {
            "changedEntityType": entity,
            "changedEntityId": record_id,
            "changeType": "INSERT",
            "data": {"id": record_id},
        }
    )


#: What the pipeline may update (an entity update: POST entity/{entity}/{id}).
UPDATABLE = ("Candidate",)


@rest.post("/entity/{entity}/{record_id}")
async def post_entity(entity: str, record_id: int, request: Request) -> JSONResponse:
    """Update writable fields of a record, as Bullhorn does (``changeType`` UPDATE); an unknown
    or read-only field is refused with the others, and nothing changes."""
    if entity not in UPDATABLE:
        raise QueryError(
            f"The sandbox updates only {', '.join(UPDATABLE)} entities, not '{entity}'"
        )
    try:
        body = await request.json()
    except ValueError:
        raise QueryError("The request body is not valid JSON") from None
    _service(request).world.update(entity, record_id, body)  # no such record: 404
    return JSONResponse(
        {
            "changedEntityType": entity,
            "changedEntityId": record_id,
            "changeType": "UPDATE",
            "data": body,
        }
    )


@rest.get("/meta/{entity}")
async def meta(entity: str, request: Request) -> JSONResponse:
    """The entity's fields (``fields``, default ``*``) as Bullhorn describes them: ``meta=basic``
    (the default) or ``full`` (with options, defaults and whether optional or multi-valued)."""
    service, entity = _service(request), _entity(request, entity)
    fields = request.query_params.get("fields", "*")
    level = request.query_params.get("meta", "basic")
    if level not in ("basic", "full"):
        raise QueryError(f"Invalid meta '{level}': basic or full")
    tables = service.world.tables
    selection = select_fields(tables, entity, fields)
    picklists = picklists_of(service.settings.corporation)
    return JSONResponse(
        describe(tables, entity, fields, selection, picklists, _rest_url(request), level == "full")
    )


@rest.get("/options/{kind}")
async def options(kind: str, request: Request) -> JSONResponse:
    """The options of an options type (``Country``): ``{"data": [{"value", "label"}]}``, paged
    by ``start`` and ``count`` (at most 300)."""
    if kind != "Country":
        raise QueryError(f"Invalid options type '{kind}'")
    start, count, messages = _paging(dict(request.query_params), MAX_OPTIONS)
    data = [
        {"value": country_id, "label": name}
        for country_id, _code, name in COUNTRY_ROWS[start : start + count]
    ]
    return JSONResponse({"data": data, "messages": messages} if messages else {"data": data})


# ------------------------------------------------------------------------------------------------
# sandbox administration

admin = APIRouter(route_class=_AdminRoute, tags=["ats admin"])
Editable = Literal["Placement", "Candidate"]


@admin.post("/clock/advance")
async def advance(
    request: Request, days: Annotated[int, Query(ge=1, le=3660)] = 1
) -> dict[str, Any]:
    """Live ``days`` more days; the new time and how many changes of each kind were made."""
    world = _service(request).world
    changes = world.advance(days)
    return {"now": world.now, "changes": dict(sorted(changes.items()))}


@admin.get("/clock")
async def clock(request: Request) -> dict[str, int]:
    """The world's current time (epoch ms)."""
    return {"now": _service(request).world.now}


@admin.put("/faults")
async def set_faults(request: Request, faults: AtsFaults) -> AtsFaults:
    """Replace the fault settings."""
    _service(request).faults = faults
    return faults


@admin.patch("/records/{entity}/{record_id}")
async def patch_record(
    entity: Editable, record_id: int, request: Request, changes: Annotated[Any, Body()]
) -> dict[str, Any]:
    """Edit a record as a user would; its dateLastModified moves past every other."""
    return {"data": _service(request).world.update(entity, record_id, changes)}


@admin.delete("/records/Placement/{record_id}")
async def delete_placement(record_id: int, request: Request) -> dict[str, Any]:
    """Delete a placement for good."""
    _service(request).world.delete("Placement", record_id)
    return {"changedEntityType": "Placement", "changedEntityId": record_id, "changeType": "DELETE"}


@admin.get("/truth/{entity}")
async def truth(
    entity: Literal["Placement", "Candidate", "Task", "Note"],
    request: Request,
    start: Annotated[int, Query(ge=0)] = 0,
    count: Annotated[int, Query(ge=0)] = 1000,
    stored: bool = False,
) -> JSONResponse:
    """Every current record with every field, in id order: what tests compare against; as
    served, or ``stored`` as the world keeps them (without the corporation's shapes)."""
    world = _service(request).world
    data = world.truth(entity, start, count, stored)
    total = len(world.tables[entity])
    return JSONResponse({"total": total, "start": start, "count": len(data), "data": data})


@admin.get("/scenario")
async def scenario(request: Request) -> dict[str, Any]:
    """The planted cases of the world's scenario (``edges``), each with the touchpoint it is
    about and what the ledger should end up saying of it; empty for the usual world."""
    world = _service(request).world
    return world.scenario.manifest() if world.scenario.cases else {"name": "usual", "cases": []}


@admin.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    """Calls per endpoint and responses per HTTP status since the sandbox started."""
    service = _service(request)
    return {"calls": dict(service.calls), "status": dict(service.statuses)}
