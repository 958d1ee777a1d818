{% import "macros.sql" as m with context %}
-- raw.{{ table }}: one row per record of the page, as the ATS sent it (append-only);
-- :body is the page's response body, its records under "data"
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
from {{ m.json_rows('body', 'data') }} as r
