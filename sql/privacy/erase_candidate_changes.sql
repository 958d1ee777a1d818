{% import "macros.sql" as m with context %}
-- erasure: every normalised version of the candidates :candidate_ids, anonymised
update staging.candidate_changes
set
    first_name = null,
    last_name = null,
    email = null,
    mobile_raw = null,
    mobile_e164 = null,
    phone_raw = null,
    phone_e164 = null,
    date_of_birth = null,
    is_anonymized = true
where cast(candidate_id as varchar) in {{ m.json_texts('candidate_ids') }}
