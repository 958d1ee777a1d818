-- quality.quarantine: one row per rejected record and load (contract: DESIGN.md).
-- released_at is set when a later load brings the record back valid.
create table quality.quarantine (
    entity varchar not null,
    record_id varchar not null,
    load_id varchar not null,
    reasons {{ types.json }} not null,
    payload {{ types.json }},
    quarantined_at timestamptz not null default current_timestamp,
    released_at timestamptz,
    primary key (entity, record_id, load_id)
);
