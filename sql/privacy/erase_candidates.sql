{% import "macros.sql" as m with context %}
-- erasure: every normalised version and the current version of the candidates :candidate_ids,
-- emptied of everything personal and anonymised (the current one stays a row: the ledger's
-- candidate, for whom nothing is planned again)
{% for table in ('candidate_changes', 'candidates') %}
update staging.{{ table }}
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
where cast(candidate_id as varchar) in {{ m.json_texts('candidate_ids') }};
{% endfor %}
