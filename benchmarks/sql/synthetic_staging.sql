-- benchmarks only (DuckDB): :placements synthetic placements and their candidates in staging,
-- spread like a real book around :plan_date: starts over the past three years and the next
-- month, a third temp or contract with an end date, a few inactive, candidates with one to
-- three placements, most with an email and a consenting mobile, a date of birth and a zone
insert into staging.candidates (
    candidate_id, first_name, email, email_opt_out, mobile_e164, sms_opt_in, date_of_birth,
    time_zone, is_anonymized, date_last_modified, load_id
)
select
    i,
    'Candidate',
    case when hash(i, 1) % 10 < 9 then 'c' || i || '@example.com' end,
    hash(i, 2) % 50 = 0,
    case when hash(i, 3) % 10 < 8 then '+4477009' || lpad(cast(i % 100000 as varchar), 5, '0') end,
    hash(i, 4) % 10 < 7,
    cast(:plan_date as date) - cast(6570 + hash(i, 5) % 14600 as integer),
    case hash(i, 6) % 4 when 0 then 'America/New_York' when 1 then 'Europe/Dublin' else null end,
    hash(i, 7) % 200 = 0,
    current_timestamp,
    'synthetic'
from range(1, cast(:placements * 0.8 as bigint) + 1) as t(i);

insert into staging.placements (
    placement_id, candidate_id, owner_id, job_title, client_name, employment_class, status,
    is_active, start_date, end_date, date_last_modified, load_id
)
select
    i,
    1 + hash(i, 11) % cast(:placements * 0.8 as bigint),
    case when hash(i, 12) % 20 > 0 then 1 + hash(i, 12) % 400 end,
    'Job',
    'Client',
    case hash(i, 13) % 6 when 0 then 'temp' when 1 then 'contract' else 'permanent' end,
    case when hash(i, 14) % 20 = 0 then 'Terminated' else 'Placed' end,
    hash(i, 14) % 20 <> 0,
    cast(:plan_date as date) - cast(hash(i, 15) % 1125 as integer) + 30,
    case
        when hash(i, 13) % 6 < 2
            then cast(:plan_date as date) - cast(hash(i, 15) % 1125 as integer) + 30
                + cast(30 + hash(i, 16) % 300 as integer)
    end,
    current_timestamp,
    'synthetic'
from range(1, :placements + 1) as t(i)
