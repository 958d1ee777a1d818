{% import "macros.sql" as m with context %}
-- staging.candidates: one row per candidate, the latest version from every load not yet
-- staged (including loads whose pull died half way: their stored pages count), or of an earlier
-- load when the gate judged it again on request and released it. An older version never
-- overwrites a newer one. A field that failed a field rule of the gate is taken as absent.
insert into staging.candidates as s (
    candidate_id, first_name, last_name, email, mobile_raw, mobile_e164, phone_raw, phone_e164,
    date_of_birth, country_code, time_zone, email_opt_out, sms_opt_in, is_anonymized,
    is_deleted, referred_by_candidate_id, date_added, date_last_modified, load_id, loaded_at
)
{%- set found = {'id': 'latest.candidate_id', 'load': 'latest.load_id'} %}
select
    candidate_id,
    first_name,
    last_name,
    {{ m.unless_found('candidate', found.id, found.load, 'email', 'email') }},
    mobile_raw,
    mobile_e164,  -- null already when its field rule fails (it judges that the raw number parses)
    phone_raw,
    phone_e164,
    {{ m.unless_found('candidate', found.id, found.load, 'date_of_birth', 'date_of_birth') }},
    country_code,
    time_zone,
    email_opt_out,
    sms_opt_in,
    is_anonymized,
    is_deleted,
    referred_by_candidate_id,
    date_added,
    date_last_modified,
    load_id,
    current_timestamp
from {{ m.ranked_changes(
    'candidate_changes', 'candidate_id', 'Candidate', again='released'
) }} as latest
-- the latest version only, and only if it passed validation (else it is in quarantine and
-- staging keeps the version it had)
where version_rank = 1
    and not {{ m.quarantined('candidate', 'latest.candidate_id', 'latest.load_id') }}
on conflict (candidate_id) do update
    set first_name = excluded.first_name,
        last_name = excluded.last_name,
        email = excluded.email,
        mobile_raw = excluded.mobile_raw,
        mobile_e164 = excluded.mobile_e164,
        phone_raw = excluded.phone_raw,
        phone_e164 = excluded.phone_e164,
        date_of_birth = excluded.date_of_birth,
        country_code = excluded.country_code,
        time_zone = excluded.time_zone,
        email_opt_out = excluded.email_opt_out,
        sms_opt_in = excluded.sms_opt_in,
        is_anonymized = excluded.is_anonymized,
        is_deleted = excluded.is_deleted,
        referred_by_candidate_id = excluded.referred_by_candidate_id,
        date_added = excluded.date_added,
        date_last_modified = excluded.date_last_modified,
        load_id = excluded.load_id,
        loaded_at = excluded.loaded_at
    where excluded.date_last_modified >= s.date_last_modified
