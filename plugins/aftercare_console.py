"""The aftercare ops console in the Airflow UI (issue 15): the console's FastAPI app
(`aftercare.console`) mounted on the api-server under /aftercare-ops, an "Aftercare" entry on the
UI's top bar that shows it inside the UI, and an "Aftercare" tab on every DAG run's page that
shows what the run did (for the aftercare DAGs). Loaded by the api-server from the plugins
folder; restart it after a change."""

from __future__ import annotations

from functools import cache
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from aftercare.console import URL_PREFIX

# the UI resolves a relative href against its base URL, and fills in {DAG_ID} and {RUN_ID}
HREF = URL_PREFIX.lstrip("/")


@cache
def _console() -> dict[str, Any]:
    from aftercare.console.app import create_app

    return {"app": create_app(), "url_prefix": URL_PREFIX, "name": "aftercare ops console"}


class AftercareConsolePlugin(AirflowPlugin):
    name = "aftercare_console"
    external_views = [
        {
            "name": "Aftercare",
            "href": f"{HREF}/",
            "url_route": "aftercare",
            "destination": "nav",
            "nav_top_level": True,
        },
        {
            "name": "Aftercare",
            "href": f"{HREF}/runs/{{DAG_ID}}/{{RUN_ID}}",
            "url_route": "aftercare-run",
            "destination": "dag_run",
        },
    ]

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """The console's app, made when first asked for: only the api-server asks (every task
        loads the plugins too, for their macros, and never imports the console)."""
        return [_console()]
