{% import "macros.sql" as m with context %}
-- quality.field_findings: one row per field of a record (and load) that failed a field rule;
-- :findings is a json array of {"id", "load_id", "field", "rule"}
insert into quality.field_findings (entity, record_id, load_id, field, rule)
select
    :entity,
    cast(f.value ->> 'id' as varchar),
    f.value ->> 'load_id',
    f.value ->> 'field',
    f.value ->> 'rule'
from {{ m.json_rows('findings') }} as f
