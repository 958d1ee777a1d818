"""Who may do what in the console, decided by Airflow's auth manager (a plugin app gets no
protection from Airflow by itself):

- every route needs a logged-in user (`requires_authenticated`, on the whole app);
- an action (pause, resume, judge again) needs edit permission on the aftercare DAGs: ``PUT``
  on the `aftercare_ops` DAG, which the action triggers (not a custom view: under the
  SimpleAuthManager every viewer passes a custom view's check, whatever the method);
- contact details (email, mobile, phone) are shown to the users who may act, masked for others;
- a form post must come from a page of this server: the UI's session cookie (``_token``,
  SameSite=Lax) is not sent on a cross-site post, but it is on one from another site's page of
  the same registrable domain (a sibling subdomain), so a post's ``Origin`` (or, when a browser
  sends none or ``null``, its ``Referer``) must be this server's origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.configuration import conf
from fastapi import Depends, HTTPException, Request, status

from aftercare.names import OPS_DAG


def may_act(user: BaseUser) -> bool:
    """Whether ``user`` may act (and see contact details): edit permission on the ops DAG."""
    return get_auth_manager().is_authorized_dag(
        method="PUT", details=DagDetails(id=OPS_DAG), user=user
    )


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def same_origin(request: Request) -> None:
    """Refuse a form post that does not come from a page of this server (see the module)."""
    allowed = {_origin(str(request.base_url)), _origin(conf.get("api", "base_url", fallback=""))}
    sent = request.headers.get("origin")
    if sent is None or sent == "null":
        sent = request.headers.get("referer")
    if _origin(sent) not in allowed - {None}:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "refused: a form post must come from a page of this server (Origin or Referer)",
        )


#: What every action route depends on: a same-origin post by a user who may act.
ACTION_GUARDS = [
    Depends(same_origin),
    Depends(requires_access_dag("PUT", param_dag_id=OPS_DAG)),
]
