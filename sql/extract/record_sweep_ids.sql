{% import "macros.sql" as m with context %}
-- one row per placement id listed by the sweep
insert into raw.placement_ids (load_id, placement_id)
select
    :load_id,
    cast(r.value as bigint)
from {{ m.json_rows('ids') }} as r;

update raw.loads
set
    pages = pages + 1,
    records = records + :record_count
where load_id = :load_id
