{% import "macros.sql" as m with context %}
-- quality.quarantine: one row per placement (and load) that breaks the staging contract, with
-- its reasons; drawn from the loads being staged (:load_ids). Validation proper arrives with its stage.
insert into quality.quarantine (entity, record_id, load_id, reasons, payload)
select
    'placement',
    cast(c.placement_id as varchar),
    c.load_id,
    cast({{ m.placement_breaches('c') }} as {{ types.json }}),
    {{ m.row_json('c') }}
from staging.placement_changes as c
inner join raw.loads as l on l.load_id = c.load_id
where l.entity = 'Placement'
    and l.load_id in {{ m.json_texts('load_ids') }}
    and {{ m.breaks_placement_contract('c') }}
on conflict do nothing
