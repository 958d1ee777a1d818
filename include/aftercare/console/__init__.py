"""The ops console (issue 15): a FastAPI app the Airflow plugin (`plugins/aftercare_console.py`)
mounts on the api-server, server-rendered pages over what `aftercare.ops.read` reads from the
warehouse (the DuckDB snapshot, or the live Postgres) and over Airflow's own metadata (the runs
of the aftercare DAGs, the audit log). It is part of the Airflow seam: every route asks Airflow's
auth manager who the user is and what they may do; the actions it offers (pause, resume, judge
again) trigger a run of the `aftercare_ops` DAG and never write the warehouse."""

#: Where the plugin mounts the app on the api-server (the UI's views link under it).
URL_PREFIX = "/aftercare-ops"

#: The DAG whose send tasks the Failures page links to.
DISPATCH_DAG = "aftercare_dispatch"

#: The aftercare DAGs, as Today lists their last runs (the run tab knows these only).
AFTERCARE_DAGS = ("aftercare_nightly", DISPATCH_DAG, "aftercare_engagement", "aftercare_ops")
