-- quality.field_findings: a contact or date field of a record that failed a field rule of its
-- row suite (GX severity "warning"): staging takes the record with that field treated as absent
-- (extract/upsert_*.sql), so a bad mobile costs the candidate its texts, not its emails. One row
-- per record, load and field; judging the record again replaces its rows.
create table quality.field_findings (
    entity varchar not null,
    record_id varchar not null,
    load_id varchar not null,
    field varchar not null,
    rule varchar not null,
    found_at timestamptz not null default current_timestamp,
    primary key (entity, record_id, load_id, field)
);
