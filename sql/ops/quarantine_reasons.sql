{% import "macros.sql" as m with context %}
-- the open quarantine rows (not released) by entity and failed rule (its expectation and
-- column); a row failing two rules counts under both
select
    q.entity,
    r.value ->> 'expectation' as expectation,
    r.value ->> 'column' as field,
    count(*) as rows_open
from quality.quarantine as q
cross join {{ m.json_elements('q.reasons') }} as r
where q.released_at is null
group by q.entity, r.value ->> 'expectation', r.value ->> 'column'
order by rows_open desc, q.entity asc, expectation asc, field asc
