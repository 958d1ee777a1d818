{% import "macros.sql" as m with context %}
-- each candidate's outcome (:outcomes, a json array of {candidate_id, outcome}) and the
-- request's counts
insert into aftercare.erasures (request_id, candidate_id, outcome)
select
    :request_id,
    cast(o.value ->> 'candidate_id' as bigint),
    o.value ->> 'outcome'
from {{ m.json_rows('outcomes') }} as o
on conflict (request_id, candidate_id) do update set outcome = excluded.outcome;

update aftercare.erasure_requests
set
    erased = :erased,
    unknown = :unknown,
    counts = cast(:counts as {{ types.json }}),
    finished_at = current_timestamp
where request_id = :request_id
