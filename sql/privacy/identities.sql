{% import "macros.sql" as m with context %}
-- what the warehouse knows of the candidates :candidate_ids that identifies them: every name,
-- email and number of every version held, and the recipient of every text tried. Read before
-- the erasure, to hash, to ask the providers and to find in files; never logged or stored.
{% for table in ('candidates', 'candidate_changes') %}
select
    c.candidate_id,
    c.first_name,
    c.last_name,
    c.email,
    c.mobile_raw,
    c.mobile_e164,
    c.phone_raw,
    c.phone_e164
from staging.{{ table }} as c
where cast(c.candidate_id as varchar) in {{ m.json_texts('candidate_ids') }}
union
{% endfor %}
select
    t.candidate_id,
    null as first_name,
    null as last_name,
    null as email,
    null as mobile_raw,
    t.attempt ->> 'to' as mobile_e164,
    null as phone_raw,
    null as phone_e164
from aftercare.touchpoints as t
where cast(t.candidate_id as varchar) in {{ m.json_texts('candidate_ids') }}
    and t.attempt ->> 'to' is not null
