{% import "macros.sql" as m with context %}
-- quality.quarantine: one row per placement (and load) that breaks the staging contract, with
-- its reasons; drawn from every load not yet staged. Validation proper arrives with its stage.
insert into quality.quarantine (entity, record_id, load_id, reasons, payload)
select
    'placement',
    cast(c.placement_id as varchar),
    c.load_id,
    cast('[' || concat_ws(
        ',',
        case when c.candidate_id is null then '"candidate_id: missing"' end,
        case when c.start_date is null then '"start_date: missing"' end,
        case when c.end_date < c.start_date then '"end_date: before start_date"' end
    ) || ']' as {{ types.json }}),
    {{ m.row_json('c') }}
from staging.placement_changes as c
inner join raw.loads as l on l.load_id = c.load_id
where l.entity = 'Placement'
    and l.staged_at is null
    and (c.candidate_id is null or c.start_date is null or c.end_date < c.start_date)
on conflict do nothing
