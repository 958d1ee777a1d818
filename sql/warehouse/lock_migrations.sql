-- serialise concurrent migration runs: the second caller waits here, inside its transaction,
-- until the first commits (postgres). duckdb admits one writer process, so it needs no lock.
{% if dialect == 'postgresql' %}
select pg_advisory_xact_lock(:lock_key)
{% endif %}
