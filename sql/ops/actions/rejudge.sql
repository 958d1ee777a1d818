{% import "macros.sql" as m with context %}
-- quality.quarantine: the open rows to judge again on the next validation: one record's row
-- (:entity, :record_id, :load_id), or every row failing the rule :expectation (on :column, when
-- given); a row asked for already keeps its first request
update quality.quarantine as q
set rejudge_requested_at = cast(:requested_at as timestamptz)
where q.released_at is null
    and q.rejudge_requested_at is null
    and (
        (q.entity = :entity and q.record_id = :record_id and q.load_id = :load_id)
        or exists (
            select 1
            from {{ m.json_elements('q.reasons') }} as r
            where r.value ->> 'expectation' = :expectation
                and (cast(:column as varchar) is null or r.value ->> 'column' = :column)
        )
    )
