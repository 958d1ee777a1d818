"""Migrations on DuckDB and on a real PostgreSQL server."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from aftercare import connections, warehouse

# The contract tables (docs/architecture.md) and the key columns other parts and analysts rely on,
# written out here independently of the migrations they check.
CONTRACT = {
    "staging.placements": {
        "placement_id",
        "candidate_id",
        "owner_id",
        "job_title",
        "client_name",
        "employment_class",
        "status",
        "is_active",
        "start_date",
        "end_date",
        "date_last_modified",
    },
    "staging.candidates": {
        "candidate_id",
        "first_name",
        "last_name",
        "email",
        "mobile_e164",
        "phone_e164",
        "date_of_birth",
        "time_zone",
        "email_opt_out",
        "sms_opt_in",
        "is_anonymized",
        "date_last_modified",
    },
    "quality.quarantine": {
        "entity",
        "record_id",
        "load_id",
        "reasons",
        "payload",
        "quarantined_at",
        "rejudge_requested_at",
    },
    "aftercare.touchpoints": {
        "touchpoint_id",
        "milestone",
        "placement_id",
        "candidate_id",
        "occurrence",
        "channel",
        "due_date",
        "send_at",
        "status",
        "reason",
        "provider_message_id",
        "attempts",
        "planned_at",
        "sent_at",
        "updated_at",
    },
    "aftercare.suppressions": {"candidate_id", "channel", "reason", "source", "created_at"},
    # the ops console's actions and what they leave (read by the console)
    "aftercare.ops_actions": {
        "action_id",
        "kind",
        "target",
        "comment",
        "requested_by",
        "requested_at",
        "applied_at",
        "result",
    },
    "aftercare.milestone_pauses": {"milestone", "paused_by", "paused_at", "comment", "action_id"},
    "engagement.delivery_events": {
        "touchpoint_id",
        "channel",
        "provider_message_id",
        "event",
        "event_at",
        "detail",
    },
    "engagement.responses": {
        "response_id",
        "candidate_id",
        "kind",
        "occurred_at",
        "touchpoint_id",
        "detail",
    },
}
SCHEMAS = {"raw", "staging", "quality", "aftercare", "engagement", "marts"}


def _columns(engine: sa.Engine) -> dict[str, set[str]]:
    query = sa.text("select table_schema, table_name, column_name from information_schema.columns")
    found: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for schema, table, column in conn.execute(query):
            found.setdefault(f"{schema}.{table}", set()).add(column)
    return found


def _schemas(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {
            row[0]
            for row in conn.execute(sa.text("select schema_name from information_schema.schemata"))
        }


def test_migrate_creates_every_contract_table(warehouse_engine: sa.Engine) -> None:
    applied = warehouse.migrate(warehouse_engine)

    assert applied == [m.name for m in warehouse.migrations()]
    assert SCHEMAS <= _schemas(warehouse_engine)
    columns = _columns(warehouse_engine)
    for table, expected in CONTRACT.items():
        assert table in columns, f"{table} missing"
        assert expected <= columns[table], f"{table} lacks {expected - columns[table]}"


def test_migrate_twice_applies_nothing_the_second_time(warehouse_engine: sa.Engine) -> None:
    warehouse.migrate(warehouse_engine)

    assert warehouse.migrate(warehouse_engine) == []
    with warehouse_engine.connect() as conn:
        recorded = conn.execute(
            sa.text("select count(*) from aftercare.schema_migrations")
        ).scalar()
    assert recorded == len(warehouse.migrations())


def test_edited_migration_is_refused(warehouse_engine: sa.Engine) -> None:
    warehouse.migrate(warehouse_engine)
    with warehouse_engine.begin() as conn:
        conn.execute(
            sa.text("update aftercare.schema_migrations set checksum = :c where version = 2"),
            {"c": "0" * 64},
        )

    with pytest.raises(
        warehouse.WarehouseError, match="0002_staging.sql changed after it was applied"
    ):
        warehouse.migrate(warehouse_engine)


def test_a_migration_numbered_below_an_applied_one_is_refused(
    warehouse_engine: sa.Engine,
) -> None:
    """A gap's number (there is no 0023) taken by a new migration would run after 0024 on a
    warehouse that has it, and before it on a new one: refused, with the fix named."""
    warehouse.migrate(warehouse_engine)
    with warehouse_engine.begin() as conn:  # as if 0022 had come after 0024 was applied
        conn.execute(sa.text("delete from aftercare.schema_migrations where version = 22"))

    with pytest.raises(
        warehouse.WarehouseError, match="0022_touchpoint_batch.sql is numbered below 0024"
    ):
        warehouse.migrate(warehouse_engine)


def test_contract_checks_hold(warehouse_engine: sa.Engine) -> None:
    """A ledger row with a status other than planned/sent must carry a reason."""
    warehouse.migrate(warehouse_engine)
    insert = sa.text(
        "insert into aftercare.touchpoints (touchpoint_id, milestone, candidate_id, occurrence,"
        " due_date, status, reason)"
        " values (:id, 'first_day', 1, 1, date '2026-11-26', :status, :reason)"
    )
    with warehouse_engine.begin() as conn:
        conn.execute(insert, {"id": "ok", "status": "suppressed", "reason": "no_eligible_channel"})
    with pytest.raises(sa.exc.DBAPIError), warehouse_engine.begin() as conn:
        conn.execute(insert, {"id": "bad", "status": "suppressed", "reason": None})


@pytest.mark.postgres
def test_concurrent_migrations_on_postgres_apply_each_file_once(postgres_warehouse: str) -> None:
    """Two runs migrating at the same moment: one applies everything, the other nothing."""
    engines = [connections.warehouse_engine() for _ in range(2)]
    start = threading.Barrier(2)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run(engine: sa.Engine) -> None:
        start.wait()
        try:
            results.append(warehouse.migrate(engine))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(map(len, results)) == [0, len(warehouse.migrations())]
    for engine in engines:
        engine.dispose()


@pytest.mark.postgres
def test_up_to_date_warehouse_needs_no_create_rights(postgres_warehouse: str) -> None:
    """Between releases a nightly run only reads the migration record: a least-privilege role
    (usage and DML, no CREATE) migrates fine."""
    owner = connections.warehouse_engine()
    warehouse.migrate(owner)
    url = sa.make_url(postgres_warehouse)
    with owner.begin() as conn:
        conn.execute(sa.text("create role aftercare_etl login"))
        conn.execute(sa.text(f'revoke create on database "{url.database}" from public'))
        for schema in ("raw", "staging", "quality", "aftercare", "engagement", "marts"):
            conn.execute(sa.text(f"grant usage on schema {schema} to aftercare_etl"))
            conn.execute(
                sa.text(
                    f"grant select, insert, update on all tables in schema {schema}"
                    " to aftercare_etl"
                )
            )
    etl = sa.create_engine(url.set(drivername="postgresql+psycopg2", username="aftercare_etl"))
    try:
        assert warehouse.migrate(etl) == []
    finally:
        etl.dispose()
        with owner.begin() as conn:
            conn.execute(sa.text("drop owned by aftercare_etl"))
            conn.execute(sa.text("drop role aftercare_etl"))
        owner.dispose()


@pytest.mark.postgres
def test_migrated_tables_have_statistics_on_postgres(postgres_warehouse: str) -> None:
    """Migrations leave every table analyzed, the empty ones too: Postgres takes a table never
    analyzed for 10 pages, and an empty aftercare.milestone_pauses (autovacuum never analyzes
    an untouched table) made dispatch's due.sql expect one open row in thousands and join them
    in nested loops, minutes instead of a second."""
    engine = connections.warehouse_engine()
    try:
        warehouse.migrate(engine)
        with engine.connect() as conn:
            never_analyzed = (
                conn.execute(
                    sa.text(
                        "select n.nspname || '.' || c.relname from pg_class as c"
                        " inner join pg_namespace as n on n.oid = c.relnamespace"
                        " where c.relkind = 'r' and c.reltuples < 0 and n.nspname in"
                        " ('raw', 'staging', 'quality', 'aftercare', 'engagement', 'marts')"
                    )
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert never_analyzed == []
