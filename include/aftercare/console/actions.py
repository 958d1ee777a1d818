"""The console's actions (POST): pause or resume a milestone, judge quarantined records again.
Each queues a run of `aftercare_ops` with the action as its conf (the warehouse task applies it
and records it; the web process never writes the warehouse), then sends the user back to the
page, which shows the action pending until the run has applied it. Guarded by
`auth.ACTION_GUARDS`: a same-origin post by a user with edit permission."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse

from aftercare.console import metadata
from aftercare.console.app import config
from aftercare.console.auth import ACTION_GUARDS

router = APIRouter(dependencies=ACTION_GUARDS)

#: what an operator writes with an action (kept with it in the warehouse and the run's conf)
Comment = Annotated[str, Form(max_length=1000)]
#: a piece of a quarantine target: no separator in it
Piece = Annotated[str, Form(pattern=r"^[^/\s]+$", max_length=200)]


def _act(request: Request, session: SessionDep, user: GetUserDep, *, kind: str, target: str,
         comment: str, back: str) -> RedirectResponse:  # fmt: skip
    if not comment.strip():
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "a comment is required: say why")
    try:
        metadata.trigger_action(
            session, request.app.state.dag_bag, user, kind=kind, target=target,
            comment=comment.strip(),
        )  # fmt: skip
    except LookupError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    console = request.scope.get("root_path", "").rstrip("/")
    return RedirectResponse(console + back, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/milestones/{name}/{kind}")
def pause_or_resume(
    request: Request,
    session: SessionDep,
    user: GetUserDep,
    name: str,
    kind: Literal["pause", "resume"],
    comment: Comment,
) -> RedirectResponse:
    if name not in config().planning.milestones:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no milestone {name!r} in the config")
    return _act(request, session, user, kind=kind, target=name, comment=comment,
                back="/milestones")  # fmt: skip


@router.post("/quarantine/record")
def rejudge_record(
    request: Request,
    session: SessionDep,
    user: GetUserDep,
    entity: Piece,
    record_id: Piece,
    load_id: Piece,
    comment: Comment,
) -> RedirectResponse:
    return _act(request, session, user, kind="rejudge",
                target=f"record:{entity}/{record_id}/{load_id}", comment=comment,
                back="/quarantine")  # fmt: skip


@router.post("/quarantine/reason")
def rejudge_reason(
    request: Request,
    session: SessionDep,
    user: GetUserDep,
    reason: Piece,
    comment: Comment,
    field: Annotated[str, Form(pattern=r"^[^/\s]*$", max_length=200)] = "",
) -> RedirectResponse:
    target = f"reason:{reason}" + (f"/{field}" if field else "")
    back = "/quarantine?" + urlencode({"reason": reason, "field": field})
    return _act(request, session, user, kind="rejudge", target=target, comment=comment,
                back=back)  # fmt: skip
