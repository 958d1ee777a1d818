{% import "macros.sql" as m with context %}
-- benchmarks only (DuckDB, or Postgres for the cluster's): per_channel planned touchpoints on each channel, due at send_at,
-- with their candidates and placements in staging. Email, sms and video go to synthetic
-- candidates (ids from 10,000,001); the recruiter call tasks (phone) to the sandbox ATS's own
-- placements (ats_placements, a json array of {placement_id, candidate_id, owner_id}), since
-- the ATS refuses tasks for records it does not hold.
create temporary table bench_subjects as
select
    i,
    case i % 4 when 0 then 'email' when 1 then 'sms' when 2 then 'video' else 'phone' end as channel,
    10000000 + i as candidate_id,
    10000000 + i as placement_id,
    101 as owner_id
from {% if dialect == 'postgresql' %}generate_series(0, :per_channel * 4 - 1){% else %}range(0, :per_channel * 4){% endif %} as t(i)
where i % 4 <> 3
union all
select
    3 + 4 * (row_number() over () - 1),
    'phone',
    cast(value ->> 'candidate_id' as bigint),
    cast(value ->> 'placement_id' as bigint),
    cast(value ->> 'owner_id' as bigint)
from {{ m.json_rows('ats_placements') }};

insert into staging.candidates (
    candidate_id, first_name, email, email_opt_out, mobile_e164, sms_opt_in, time_zone,
    is_anonymized, date_last_modified, load_id
)
select
    candidate_id,
    'Candidate',
    'c' || candidate_id || '@example.com',
    false,
    '+447911' || lpad(cast(i % 1000000 as varchar), 6, '0'),
    true,
    'Europe/London',
    false,
    current_timestamp,
    'synthetic'
from bench_subjects;

insert into staging.placements (
    placement_id, candidate_id, owner_id, job_title, client_name, employment_class, status,
    is_active, start_date, date_last_modified, load_id
)
select
    placement_id, candidate_id, owner_id, 'Warehouse Operative', 'Acme Logistics', 'permanent',
    'Placed', true, cast(:send_at as date) - 90, current_timestamp, 'synthetic'
from bench_subjects;

insert into aftercare.touchpoints (
    touchpoint_id, milestone, placement_id, candidate_id, occurrence, channel, due_date,
    window_end, send_at, status, plan_date
)
select
    m.milestone || ':' || 'placement:' || s.placement_id || ':' || '1',
    m.milestone,
    s.placement_id,
    s.candidate_id,
    1,
    s.channel,
    cast(:send_at as date),
    cast(:send_at as date) + 7,
    cast(:send_at as timestamptz),
    'planned',
    cast(:send_at as date)
from bench_subjects as s
inner join (
    values ('email', 'check_in'), ('sms', 'first_day'), ('video', 'referral_ask'),
        ('phone', 'check_in_call')
) as m(channel, milestone) on m.channel = s.channel;

drop table bench_subjects;
