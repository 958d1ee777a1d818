{% import "macros.sql" as m with context %}
-- quality.quarantine: a record staged now (from :load_ids) arrived valid, so every open
-- quarantine row of it is released (released_at set)
update quality.quarantine
set released_at = current_timestamp
where released_at is null
    and (
        (entity = 'placement' and record_id in (
            select cast(placement_id as varchar)
            from staging.placements
            where load_id in {{ m.json_texts('load_ids') }}
        ))
        or (entity = 'candidate' and record_id in (
            select cast(candidate_id as varchar)
            from staging.candidates
            where load_id in {{ m.json_texts('load_ids') }}
        ))
    )
