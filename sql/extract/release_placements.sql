{% import "macros.sql" as m with context %}
-- quality.quarantine: a placement that now arrived valid leaves quarantine (released_at set)
update quality.quarantine
set released_at = current_timestamp
where entity = 'placement'
    and released_at is null
    and record_id in (
        select cast(placement_id as varchar)
        from staging.placements
        where load_id in {{ m.json_texts('load_ids') }}
    )
