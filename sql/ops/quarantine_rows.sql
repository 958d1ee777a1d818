{% import "macros.sql" as m with context %}
-- open quarantine rows (not released) failing the rule of expectation :expectation on column
-- :field (each null: any), oldest first, at most :row_limit; `total` counts every open row
-- matching, whatever the limit
select
    q.entity,
    q.record_id,
    q.load_id,
    cast(q.reasons as varchar) as reasons,
    q.quarantined_at,
    q.rejudge_requested_at,
    count(*) over () as total
from quality.quarantine as q
where q.released_at is null
    and (
        cast(:expectation as varchar) is null
        or exists (
            select 1
            from {{ m.json_elements('q.reasons') }} as r
            where r.value ->> 'expectation' = :expectation
                and (cast(:field as varchar) is null or r.value ->> 'column' = :field)
        )
    )
order by q.quarantined_at asc, q.entity asc, q.record_id asc, q.load_id asc
limit :row_limit
