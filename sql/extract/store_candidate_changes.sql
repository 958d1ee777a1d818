{% import "macros.sql" as m with context %}
-- one row per candidate of the pages, normalised (:rows: a json array of rows with their page;
-- instants and the date of birth as Bullhorn sends them, epoch ms: the date where it was entered,
-- as for placements' dates, m.local_date, in the agency's zone)
insert into staging.candidate_changes (
    load_id, page, candidate_id, first_name, last_name, email, mobile_raw, mobile_e164,
    phone_raw, phone_e164, date_of_birth, country_code, time_zone, email_opt_out, sms_opt_in,
    is_anonymized, is_deleted, referred_by_candidate_id, date_added, date_last_modified
)
select
    :load_id,
    r.page,
    r.candidate_id,
    r.first_name,
    r.last_name,
    r.email,
    r.mobile_raw,
    r.mobile_e164,
    r.phone_raw,
    r.phone_e164,
    {{ m.local_date('r.date_of_birth') }},
    r.country_code,
    r.time_zone,
    r.email_opt_out,
    r.sms_opt_in,
    r.is_anonymized,
    r.is_deleted,
    r.referred_by_candidate_id,
    to_timestamp(r.date_added / 1000.0),
    to_timestamp(r.date_last_modified / 1000.0)
from {{ m.json_records('rows', {
    'page': 'integer', 'candidate_id': 'bigint', 'first_name': 'varchar',
    'last_name': 'varchar', 'email': 'varchar', 'mobile_raw': 'varchar',
    'mobile_e164': 'varchar', 'phone_raw': 'varchar', 'phone_e164': 'varchar',
    'date_of_birth': 'bigint', 'country_code': 'varchar', 'time_zone': 'varchar',
    'email_opt_out': 'boolean', 'sms_opt_in': 'boolean', 'is_anonymized': 'boolean',
    'is_deleted': 'boolean', 'referred_by_candidate_id': 'bigint',
    'date_added': 'bigint', 'date_last_modified': 'bigint'
}) }} as r
