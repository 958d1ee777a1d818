"""The Airflow connection ids the DAGs use: one registry, so bootstrap, docker-compose and the
tests agree on them. Later stages add their ids here (ATS, email, SMS, video, reviews)."""

WAREHOUSE = "aftercare_warehouse"

#: conn_id -> what it is for (shown by `python -m aftercare.bootstrap`).
CONNECTIONS: dict[str, str] = {
    WAREHOUSE: "the warehouse: a DuckDB file (conn_type duckdb, host = file path) or any "
    "SQLAlchemy database (conn_type postgres, or extra.sqlalchemy_url)",
}
