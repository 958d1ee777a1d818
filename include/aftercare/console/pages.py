"""The console's pages (GET): Today and the rows behind its counts, Failures, the candidate
look-up, Quarantine, Milestones, the run tab and the report. Each reads the warehouse once
(`aftercare.ops.read`) and Airflow's metadata (runs, actions) in the request's session."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from aftercare import PROJECT_ROOT
from aftercare.connections import read_warehouse
from aftercare.console import AFTERCARE_DAGS, metadata
from aftercare.console.app import Reading, config, reading
from aftercare.console.auth import may_act, same_origin
from aftercare.console.metadata import ActionRun
from aftercare.names import CHANNELS, OPS_DAG
from aftercare.ops import read

router = APIRouter()

#: the look-up's audit log event (Browse > Audit Log)
LOOKUP_EVENT = "aftercare_console.candidate_lookup"


def _render(request: Request, template: str, **values: object) -> HTMLResponse:
    return request.app.state.pages.render(request, template, **values)


def _as_of() -> datetime | None:
    """The age of the data, for a page that reads nothing else of the warehouse."""
    with read_warehouse() as warehouse:
        return warehouse.as_of


def _now(request: Request) -> datetime:
    """The moment the page is about (the app's clock: the tests set it)."""
    return request.app.state.clock()


def _day(request: Request, text: str | None) -> date:
    """The page's local date: ``text`` (YYYY-MM-DD), else the pipeline's today in the agency's
    zone (its clock's: the demo's simulated day, not the wall clock's)."""
    if not text:
        now = request.app.state.pipeline_clock()
        return now.astimezone(ZoneInfo(config().agency.time_zone)).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"not a date (YYYY-MM-DD): {text!r}"
        ) from None


def _actions(request: Request, session: SessionDep, warehouse: Reading) -> list[ActionRun]:
    """The operators' actions not yet shown as applied by the warehouse the page reads. A run
    of aftercare_ops that succeeded after the snapshot was published may be in it all the same
    (its task publishes the snapshot once the action is applied, before the run ends): it is
    applied when the snapshot has its row in aftercare.ops_actions."""
    found = []
    for action in metadata.actions(session, warehouse.as_of, _now(request)):
        if action.stage == "applying":
            done = read.run(
                warehouse.conn,
                dag_id=OPS_DAG,
                run_id=action.run.run_id,
                started_at=action.run.start_date,
                ended_at=action.run.end_date,
            ).actions
            if any(applied.action_id == action.run.run_id for applied in done):
                continue
        found.append(action)
    return found


def _grid(counts: tuple[read.StatusCount, ...]) -> list[dict[str, object]]:
    """Today's counts as rows of (milestone, channel) with a count per status, in the config's
    milestone order and the channels' order (no channel last)."""
    milestones = list(config().planning.milestones)
    channels = [*CHANNELS, None]
    rows: dict[tuple[str, str | None], dict[str, int]] = {}
    for cell in counts:
        rows.setdefault((cell.milestone, cell.channel), {})[cell.status] = cell.count
    order = sorted(
        rows,
        key=lambda key: (
            milestones.index(key[0]) if key[0] in milestones else len(milestones),
            key[0],
            channels.index(key[1]) if key[1] in channels else len(channels),
        ),
    )
    return [{"milestone": m, "channel": c, "counts": rows[(m, c)]} for m, c in order]


@router.get("/", response_class=HTMLResponse)
def today(request: Request, session: SessionDep, day: str | None = None) -> HTMLResponse:
    the_day = _day(request, day)
    with reading() as warehouse:
        view = read.today(warehouse.conn, the_day)
        actions = _actions(request, session, warehouse)
    return _render(
        request,
        "today.html.j2",
        as_of=warehouse.as_of,
        nav="today",
        view=view,
        previous=the_day - timedelta(days=1),
        following=the_day + timedelta(days=1),
        grid=_grid(view.counts),
        statuses=read.STATUSES,
        runs=metadata.last_runs(session, AFTERCARE_DAGS),
        actions=actions,
        ops_paused=metadata.ops_paused(session),
        ops_dag=OPS_DAG,
    )


@router.get("/touchpoints", response_class=HTMLResponse)
def touchpoints(
    request: Request,
    day: str | None = None,
    milestone: str | None = None,
    channel: str | None = None,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(read.STATUSES) + ")$")] = None,
) -> HTMLResponse:
    the_day, limit = _day(request, day), config().ops.row_limit
    with reading() as warehouse:
        rows = read.touchpoints(
            warehouse.conn,
            day=the_day,
            milestone=milestone or None,
            channel=channel or None,
            status=status,
            limit=limit,
        )
    return _render(
        request,
        "touchpoints.html.j2",
        as_of=warehouse.as_of,
        nav="today",
        day=the_day,
        milestone=milestone,
        channel=channel,
        status=status,
        rows=rows,
        limit=limit,
    )


@router.get("/failures", response_class=HTMLResponse)
def failures(request: Request, session: SessionDep) -> HTMLResponse:
    settings = config().ops
    with reading() as warehouse:
        view = read.failures(warehouse.conn, now=_now(request), settings=settings)
    batches = tuple(batch for group in view.groups for batch in group.batches)
    return _render(
        request,
        "failures.html.j2",
        as_of=warehouse.as_of,
        nav="failures",
        view=view,
        send_tasks=metadata.send_tasks(session, batches),
    )


@router.get("/candidates", response_class=HTMLResponse)
def candidate_search(request: Request) -> HTMLResponse:
    return _render(request, "candidate_search.html.j2", as_of=_as_of(), nav="candidates", query="")


@router.post("/candidates", dependencies=[Depends(same_origin)])
def candidate_lookup(
    request: Request,
    session: SessionDep,
    user: GetUserDep,
    q: Annotated[str, Form(max_length=200)],
) -> Response:
    """A look-up by id, email or mobile is a form post, so what was typed (an email, a number)
    stays out of URLs and the api-server's access log; a match redirects to the candidate's
    page (its id in the URL), which records the look-up."""
    with reading() as warehouse:
        view = read.candidate(warehouse.conn, q.strip(), region=config().agency.default_region)
    if view is None:
        metadata.audit(session, user, LOOKUP_EVENT, candidate_id=None, found=False)
        return _render(
            request,
            "candidate_search.html.j2",
            as_of=warehouse.as_of,
            nav="candidates",
            query=q,
            not_found=True,
        )
    also = ",".join(str(other) for other in view.other_matches)
    target = f"{request.scope.get('root_path', '')}/candidates/{view.candidate_id}"
    query = f"?by={view.matched_by}" + (f"&also={also}" if also else "")
    return RedirectResponse(target + query, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/candidates/{candidate_id}", response_class=HTMLResponse)
def candidate(
    request: Request,
    session: SessionDep,
    user: GetUserDep,
    candidate_id: int,
    by: Annotated[str, Query(pattern="^(candidate_id|email|mobile)$")] = "candidate_id",
    also: Annotated[str, Query(pattern=r"^[0-9,]*$")] = "",
) -> HTMLResponse:
    with reading() as warehouse:
        view = read.candidate(
            warehouse.conn, str(candidate_id), region=config().agency.default_region
        )
    metadata.audit(
        session, user, LOOKUP_EVENT, candidate_id=candidate_id, found=view is not None,
        matched_by=by,
    )  # fmt: skip
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no candidate {candidate_id}")
    return _render(
        request,
        "candidate.html.j2",
        as_of=warehouse.as_of,
        nav="candidates",
        view=view,
        contacts=may_act(user),
        matched_by=by,
        also=[int(other) for other in also.split(",") if other],
    )


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine(
    request: Request,
    session: SessionDep,
    user: GetUserDep,
    reason: str | None = None,
    field: str | None = None,
) -> HTMLResponse:
    with reading() as warehouse:
        view = read.quarantine(
            warehouse.conn,
            now=_now(request),
            reason=reason or None,
            field=field or None,
            limit=config().ops.row_limit,
        )
        actions = _actions(request, session, warehouse)
    return _render(
        request,
        "quarantine.html.j2",
        as_of=warehouse.as_of,
        nav="quarantine",
        view=view,
        reason=reason or None,
        field=field or None,
        actions=[action for action in actions if action.kind == "rejudge"],
        can_act=may_act(user),
        ops_paused=metadata.ops_paused(session),
    )


@router.get("/milestones", response_class=HTMLResponse)
def milestones(request: Request, session: SessionDep, user: GetUserDep) -> HTMLResponse:
    with reading() as warehouse:
        views = read.milestones(warehouse.conn, config())
        actions = _actions(request, session, warehouse)
    return _render(
        request,
        "milestones.html.j2",
        as_of=warehouse.as_of,
        nav="milestones",
        milestones=views,
        actions=[a for a in actions if a.kind in ("pause", "resume")],
        can_act=may_act(user),
        ops_paused=metadata.ops_paused(session),
    )


@router.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse)
def run(request: Request, session: SessionDep, dag_id: str, run_id: str) -> HTMLResponse:
    """The tab on a DAG run's page: what the run did in the warehouse."""
    if dag_id not in AFTERCARE_DAGS:
        return _render(request, "not_aftercare.html.j2", as_of=_as_of(), nav=None, dag_id=dag_id)
    found = metadata.find_run(session, dag_id, run_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id} of {dag_id}")
    with reading() as warehouse:
        view = read.run(
            warehouse.conn,
            dag_id=dag_id,
            run_id=run_id,
            started_at=found.start_date,
            ended_at=found.end_date,
        )
    return _render(request, "run.html.j2", as_of=warehouse.as_of, nav=None, run=found, view=view)


@router.get("/report", response_model=None)
def report(request: Request) -> FileResponse | HTMLResponse:
    """The engagement DAG's HTML report (config ``engagement.report_path``), as it wrote it."""
    path = PROJECT_ROOT / config().engagement.report_path
    if path.is_file():
        return FileResponse(path, media_type="text/html")
    return _render(request, "no_report.html.j2", as_of=_as_of(), nav="report")
