-- one candidate as staged: contact details (personal data: the console masks them) and consent
select
    c.candidate_id,
    c.first_name,
    c.last_name,
    c.email,
    c.mobile_e164,
    c.phone_e164,
    c.time_zone,
    c.email_opt_out,
    c.sms_opt_in,
    c.is_anonymized,
    c.is_deleted
from staging.candidates as c
where c.candidate_id = :candidate_id
