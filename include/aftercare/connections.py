"""The Airflow connection ids the DAGs use: one registry, so bootstrap, docker-compose, the docs
and the tests agree on them. Later stages add theirs (email, SMS, video, reviews)."""

WAREHOUSE = "aftercare_warehouse"
ATS = "aftercare_ats"

#: conn_id -> what it is for.
CONNECTIONS: dict[str, str] = {
    WAREHOUSE: "the warehouse: a DuckDB file (conn_type duckdb, host = file path) or any "
    "SQLAlchemy database (conn_type postgres, or extra.sqlalchemy_url)",
    ATS: "the ATS (Bullhorn REST API): host = login-info URL, login/password = API user, "
    "extra.client_id / extra.client_secret = OAuth client",
}
