{% import "macros.sql" as m with context %}
{% import "ops/_quarantine.sql" as quarantine %}
-- open quarantine rows (not released) failing the rule of expectation :expectation on column
-- :field (each null: any), oldest first, at most :row_limit; `total` counts every open row
-- matching, whatever the limit
select
    {{ quarantine.columns() }},
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
