{% import "macros.sql" as m with context %}
-- raw.{{ table }}: one row per record of a batch of pages, as the ATS sent it (append-only);
-- :bodies is a json array of the pages' response bodies, their records under "data"
insert into raw.{{ table }} (
    load_id, page, extracted_at, {{ id_column }}, date_last_modified_ms, record
)
select
    :load_id,
    b.page,
    current_timestamp,
    cast(b.record ->> 'id' as bigint),
    cast(b.record ->> 'dateLastModified' as bigint),
    b.record
from {{ m.batch_records('bodies') }} as b
