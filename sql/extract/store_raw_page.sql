{% import "macros.sql" as m with context %}
-- one row per record of the page, as the ATS sent it (raw.{{ table }} is append-only)
insert into raw.{{ table }} (
    load_id, page, extracted_at, {{ id_column }}, date_last_modified_ms, record
)
select
    :load_id,
    :page,
    current_timestamp,
    cast(r.value ->> 'id' as bigint),
    cast(r.value ->> 'dateLastModified' as bigint),
    r.value
from {{ m.json_rows('records') }} as r;

-- the load's progress
update raw.loads
set pages = pages + 1,
    records = records + :record_count
where load_id = :load_id;

-- the feed position moves only with a stored page (same transaction)
insert into raw.watermarks (entity, date_last_modified_ms, record_id, load_id, updated_at)
values (:entity, :end_ms, :end_id, :load_id, current_timestamp)
on conflict (entity) do update
set date_last_modified_ms = excluded.date_last_modified_ms,
    record_id = excluded.record_id,
    load_id = excluded.load_id,
    updated_at = excluded.updated_at
