{% import "macros.sql" as m with context %}
-- quality.quarantine: a record staged now (from :load_ids) arrived valid, so every open
-- quarantine row of it is released (released_at set). A join with the records staged, not
-- `record_id in (...)` under an `or`: Postgres cannot make a semi-join of that, and a list
-- larger than work_mem it scanned once per open quarantine row (a full load of 1,000,000
-- placements: 30,000 rows times a million)
update quality.quarantine as q
set released_at = current_timestamp
from (
    select
        'placement' as entity,
        cast(placement_id as varchar) as record_id
    from staging.placements
    where load_id in {{ m.json_texts('load_ids') }}
    union all
    select
        'candidate' as entity,
        cast(candidate_id as varchar) as record_id
    from staging.candidates
    where load_id in {{ m.json_texts('load_ids') }}
) as staged
where q.released_at is null
    and q.entity = staged.entity
    and q.record_id = staged.record_id
