{% import "macros.sql" as m with context %}
-- one row per candidate of the pages, normalised (:rows: a json array of rows with their page)
insert into staging.candidate_changes (
    load_id, page, candidate_id, first_name, last_name, email, mobile_raw, mobile_e164,
    phone_raw, phone_e164, date_of_birth, country_code, time_zone, email_opt_out, sms_opt_in,
    is_anonymized, is_deleted, referred_by_candidate_id, date_added, date_last_modified
)
select
    :load_id,
    cast(r.value ->> 'page' as integer),
    cast(r.value ->> 'candidate_id' as bigint),
    r.value ->> 'first_name',
    r.value ->> 'last_name',
    r.value ->> 'email',
    r.value ->> 'mobile_raw',
    r.value ->> 'mobile_e164',
    r.value ->> 'phone_raw',
    r.value ->> 'phone_e164',
    cast(r.value ->> 'date_of_birth' as date),
    r.value ->> 'country_code',
    r.value ->> 'time_zone',
    cast(r.value ->> 'email_opt_out' as boolean),
    cast(r.value ->> 'sms_opt_in' as boolean),
    cast(r.value ->> 'is_anonymized' as boolean),
    cast(r.value ->> 'is_deleted' as boolean),
    cast(r.value ->> 'referred_by_candidate_id' as bigint),
    cast(r.value ->> 'date_added' as timestamptz),
    cast(r.value ->> 'date_last_modified' as timestamptz)
from {{ m.json_rows('rows') }} as r
