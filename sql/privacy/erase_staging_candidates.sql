{% import "macros.sql" as m with context %}
-- erasure: the current version of the candidates :candidate_ids, kept as a row (the ledger's
-- candidate) with nothing personal, anonymised, so nothing is planned for it
update staging.candidates
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
