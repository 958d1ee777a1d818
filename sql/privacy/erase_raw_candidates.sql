{% import "macros.sql" as m with context %}
-- erasure: every version the ATS sent of the candidates :candidate_ids (a json array of ids)
delete from raw.candidates
where cast(candidate_id as varchar) in {{ m.json_texts('candidate_ids') }}
