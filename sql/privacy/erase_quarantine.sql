{% import "macros.sql" as m with context %}
-- erasure: the failed versions quarantine keeps of the candidates :candidate_ids (the rows stay:
-- their reasons and times are ops' record)
update quality.quarantine
set payload = null
where entity = 'candidate'
    and record_id in {{ m.json_texts('candidate_ids') }}
    and payload is not null
