{% import "macros.sql" as m with context %}
-- one row per placement of the page, normalised
insert into staging.placement_changes (
    load_id, page, placement_id, candidate_id, owner_id, owner_first_name, owner_last_name,
    owner_email, job_title, client_name, status, employment_type, employment_class, is_active,
    start_date, end_date, date_added, date_last_modified
)
select
    :load_id,
    :page,
    cast(r.value ->> 'placement_id' as bigint),
    cast(r.value ->> 'candidate_id' as bigint),
    cast(r.value ->> 'owner_id' as bigint),
    r.value ->> 'owner_first_name',
    r.value ->> 'owner_last_name',
    r.value ->> 'owner_email',
    r.value ->> 'job_title',
    r.value ->> 'client_name',
    r.value ->> 'status',
    r.value ->> 'employment_type',
    r.value ->> 'employment_class',
    cast(r.value ->> 'is_active' as boolean),
    cast(r.value ->> 'start_date' as date),
    cast(r.value ->> 'end_date' as date),
    cast(r.value ->> 'date_added' as timestamptz),
    cast(r.value ->> 'date_last_modified' as timestamptz)
from {{ m.json_rows('rows') }} as r
