-- the record of applied migrations: one row per migration file
create schema if not exists aftercare;

create table if not exists aftercare.schema_migrations (
    version integer primary key,
    name varchar not null,
    checksum varchar not null,
    applied_at timestamptz not null default current_timestamp
);
