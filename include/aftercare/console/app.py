"""The console's FastAPI app: every route behind a logged-in user, pages rendered from Jinja
templates with autoescape (a candidate's name is data, never markup), and the pieces each page
shares: the warehouse read (with its age), Airflow's session, the user's rights."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.common.dagbag import create_dag_bag
from airflow.api_fastapi.core_api.security import requires_authenticated
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Connection

from aftercare.config import Config, load_config
from aftercare.connections import clock, read_warehouse
from aftercare.console import URL_PREFIX
from aftercare.warehouse import SnapshotMissing

TEMPLATES = Path(__file__).with_name("templates")
#: a snapshot older than this is shown in the warning colour (dispatch publishes one every
#: 15 minutes when it runs)
STALE = timedelta(hours=1)


@dataclass(frozen=True)
class Reading:
    """An open read of the warehouse: ``conn``, and ``as_of`` (the snapshot's publish time on
    DuckDB; None: the live Postgres warehouse)."""

    conn: Connection
    as_of: datetime | None


@contextmanager
def reading() -> Iterator[Reading]:
    """The warehouse as the console reads it (`aftercare.connections.read_warehouse`), for as
    long as the page's queries take."""
    with read_warehouse() as warehouse, warehouse.engine.connect() as conn:
        yield Reading(conn, warehouse.as_of)


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    minutes = max(int((now - moment).total_seconds() // 60), 0)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    return f"{hours} hours ago" if hours < 48 else f"{hours // 24} days ago"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def environment() -> Environment:
    """The pages' templates: autoescaped, and an unknown name is an error, not a blank."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    env.filters["when"] = _when
    env.filters["fromjson"] = json.loads
    env.filters["percent"] = lambda rate: "" if rate is None else f"{rate:.2%}"
    return env


class Pages:
    """Renders a page with what every page shows: the console's and the UI's root paths (links
    stay relative to wherever the api-server is mounted), the user and their rights, and the age
    of the data."""

    def __init__(self) -> None:
        self.env = environment()

    def render(
        self,
        request: Request,
        template: str,
        *,
        as_of: datetime | None,
        read: bool = True,
        status_code: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        """``as_of``: the snapshot's publish time (None: live); ``read``: whether the page read
        the warehouse at all (an error page does not, and says nothing of its age)."""
        now = datetime.now(UTC)
        console = request.scope.get("root_path", "").rstrip("/")
        html = self.env.get_template(template).render(
            console=console,
            airflow=console.removesuffix(URL_PREFIX),
            login=get_auth_manager().get_url_login(next_url=str(request.url)),
            read=read,
            as_of=as_of,
            age=_ago(as_of, now),
            stale=as_of is not None and now - as_of > STALE,
            status_code=status_code,
            **values,
        )
        return HTMLResponse(html, status_code=status_code)


def config() -> Config:
    return load_config()


def pipeline_now() -> datetime:
    """The pipeline's instant: the clock dispatch sends by (`aftercare.connections.clock`: the
    system's, or the sandbox's simulated clock in the demo), which the ledger's days follow."""
    return clock().now()


def create_app() -> FastAPI:
    """The console: anonymous requests get 401 on every route (Airflow's own dependency)."""
    from aftercare.console import actions, pages

    app = FastAPI(
        title="aftercare ops console",
        dependencies=[Depends(requires_authenticated())],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.pages = Pages()
    app.state.clock = lambda: datetime.now(UTC)
    app.state.pipeline_clock = pipeline_now
    app.state.dag_bag = create_dag_bag()
    app.include_router(pages.router)
    app.include_router(actions.router)

    @app.exception_handler(SnapshotMissing)
    def no_snapshot(request: Request, exc: SnapshotMissing) -> HTMLResponse:
        # a page, not an error: the warehouse has just been made and no task has finished yet
        return app.state.pages.render(
            request, "no_snapshot.html.j2", as_of=None, read=False, reason=str(exc), nav=None
        )

    @app.exception_handler(HTTPException)
    def refused(request: Request, exc: HTTPException) -> HTMLResponse:
        return app.state.pages.render(
            request,
            "refused.html.j2",
            as_of=None,
            read=False,
            status_code=exc.status_code,
            detail=exc.detail,
            nav=None,
        )

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> HTMLResponse:
        # the fields and what is wrong with them, never the values sent (an email, a number)
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'][1:]) or 'request'}: {error['msg']}"
            for error in exc.errors()
        )
        return app.state.pages.render(
            request,
            "refused.html.j2",
            as_of=None,
            read=False,
            status_code=422,
            detail=problems,
            nav=None,
        )

    return app
