{% import "macros.sql" as m with context %}
-- which of the candidates :candidate_ids the warehouse holds anything of (a staged version, a
-- pulled one, a touchpoint); the others are unknown to it
select distinct cast(r.value as bigint) as candidate_id
from (select k.value from {{ m.json_texts('candidate_ids') }} as k (value)) as r
where exists (
        select 1 from staging.candidates as c
        where cast(c.candidate_id as varchar) = r.value
    ) or exists (
        select 1 from staging.candidate_changes as c
        where cast(c.candidate_id as varchar) = r.value
    ) or exists (
        select 1 from aftercare.touchpoints as t
        where cast(t.candidate_id as varchar) = r.value
    )
