{% import "macros.sql" as m with context %}
-- quality.quarantine: the requests to judge again of the records this chunk judged (:ids, a
-- json array of record ids; whichever of their versions it judged: a newer one comes first)
-- are answered: the request cleared, rejudged_at set; staging then takes the versions so
-- released (and clears rejudged_at)
update quality.quarantine
set
    rejudge_requested_at = null,
    rejudged_at = current_timestamp
where entity = :entity
    and rejudge_requested_at is not null
    and record_id in {{ m.json_texts('ids') }}
