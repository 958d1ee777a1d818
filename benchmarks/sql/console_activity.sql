-- benchmarks only (DuckDB): what years of running leave beside the ledger history
-- (ledger_history.sql, every touchpoint due before the day sent by email) and the night of the
-- day (bound as day) planned, for the ops console to read: a quarter of the history went by
-- sms; 0.5% of it failed (provider refusals, unrenderable); of the day's planned rows, those
-- due by the instant bound as now went out and a few are in doubt; every send in a dispatch
-- batch per day and channel (folded: the ledger keeps each row's batch), a delivered event
-- each, and for the last 60 days hard and soft bounces, spam reports, undelivered texts and
-- opens; reviews and replies; suppressions; quarantined records (for the reasons bound as
-- not_null and in_set, json texts); the nightly runs' validations, loads and summaries;
-- operators' actions and a paused milestone

-- each row tried keeps its batch (below: one per day and channel), as the fold does
update aftercare.touchpoints
set
    channel = case when hash(touchpoint_id, 1) % 4 = 0 then 'sms' else 'email' end,
    attempt = json_object(
        'route', case when hash(touchpoint_id, 1) % 4 = 0 then 'sms' else 'email' end
    ),
    batch_id = 'b-' || cast(cast(sent_at as date) as varchar) || '-'
    || case when hash(touchpoint_id, 1) % 4 = 0 then 'sms' else 'email' end,
    updated_at = sent_at
where plan_date < cast(:day as date);

update aftercare.touchpoints
set
    status = 'failed',
    reason = case
        when channel = 'sms' and hash(touchpoint_id, 2) % 3 = 0 then 'twilio_30007'
        when channel = 'sms' then 'twilio_21211'
        when hash(touchpoint_id, 2) % 5 = 0 then 'unrenderable'
        else 'sendgrid_400'
    end,
    updated_at = sent_at,
    sent_at = null
where plan_date < cast(:day as date) and hash(touchpoint_id, 3) % 200 = 0;

update aftercare.touchpoints
set
    status = case when hash(touchpoint_id, 4) % 100 = 0 then 'failed' else 'sent' end,
    reason = case when hash(touchpoint_id, 4) % 100 = 0 then 'twilio_21211' end,
    sent_at = case when hash(touchpoint_id, 4) % 100 > 0 then send_at end,
    provider_message_id = case
        when hash(touchpoint_id, 4) % 100 > 0 then 'pm-' || touchpoint_id
    end,
    attempts = 1,
    attempt = json_object('route', coalesce(channel, 'email')),
    batch_id = 'b-' || cast(cast(send_at as date) as varchar) || '-' || channel,
    updated_at = send_at
where plan_date = cast(:day as date)
    and status = 'planned'
    and send_at <= cast(:now as timestamptz)
    and channel in ('email', 'sms');

update aftercare.touchpoints
set
    in_doubt = true,
    attempt = json_object('route', channel),
    attempts = 1,
    batch_id = 'b-'
    || cast(cast(cast(:now as timestamptz) - interval 1 hour as date) as varchar)
    || '-' || channel,
    updated_at = cast(:now as timestamptz) - interval 1 hour
where plan_date = cast(:day as date)
    and status = 'planned'
    and channel is not null
    and hash(touchpoint_id, 5) % 2000 = 0;

insert into aftercare.dispatch_batches (
    batch_id, run_id, channel, path, touchpoints, dry_run, created_at, recorded_at, outcomes
)
select
    'b-' || cast(cast(updated_at as date) as varchar) || '-' || channel,
    'scheduled__' || cast(cast(updated_at as date) as varchar) || 'T08:00:00+00:00',
    channel,
    'staging/' || cast(cast(updated_at as date) as varchar) || '-' || channel || '.jsonl',
    count(*),
    false,
    min(updated_at) - interval 5 minute,
    max(updated_at) + interval 5 minute,
    json_object(
        'sent', count(*) filter (where status = 'sent'),
        'failed', count(*) filter (where status = 'failed')
    )
from aftercare.touchpoints
where status in ('sent', 'failed') or in_doubt
group by cast(updated_at as date), channel;

-- every batch folded: no items left (only a batch in flight keeps them)

insert into engagement.delivery_events (
    event_id, touchpoint_id, channel, provider_message_id, event, event_at, detail, loaded_at
)
select
    'ev-' || cast(e.salt as varchar) || '-' || t.touchpoint_id,
    t.touchpoint_id,
    t.channel,
    'pm-' || t.touchpoint_id,
    e.event,
    t.sent_at + interval 2 minute,
    case e.event when 'bounced' then json_object('bounce_type', e.bounce_type) else '{}' end,
    t.sent_at + interval 3 hour
from aftercare.touchpoints as t
inner join (
    values
    ('delivered', null, 0, 1),
    ('opened', null, 5, 3),
    ('bounced', 'hard', 1, 67),
    ('bounced', 'soft', 2, 100),
    ('spam_report', null, 3, 2000),
    ('undelivered', null, 4, 100)
) as e (event, bounce_type, salt, one_in)
    on hash(t.touchpoint_id, 10 + e.salt) % e.one_in = 0
where t.status = 'sent'
    and (
        e.event in ('delivered', 'opened')
        or t.sent_at >= cast(:now as timestamptz) - interval 60 day
    )
    and (e.event <> 'undelivered' or t.channel = 'sms')
    and (e.event not in ('bounced', 'spam_report', 'opened') or t.channel = 'email');

insert into engagement.responses (
    response_id, candidate_id, kind, occurred_at, touchpoint_id, detail, loaded_at
)
select
    'rs-' || t.touchpoint_id,
    t.candidate_id,
    case when t.milestone = 'review_request' then 'review' else 'reply' end,
    t.sent_at + interval 1 day,
    t.touchpoint_id,
    case
        when t.milestone = 'review_request' then json_object('stars', 1 + hash(t.touchpoint_id) % 5)
        else json_object('sentiment', 'positive')
    end,
    t.sent_at + interval 1 day
from aftercare.touchpoints as t
where t.status = 'sent' and hash(t.touchpoint_id, 20) % 30 = 0;

insert into aftercare.suppressions (candidate_id, channel, reason, source, created_at)
select
    candidate_id,
    case when hash(candidate_id, 21) % 2 = 0 then 'email' else 'sms' end,
    case when hash(candidate_id, 21) % 2 = 0 then 'email_hard_bounce' else 'sms_opted_out' end,
    'engagement',
    cast(:now as timestamptz) - to_days(cast(hash(candidate_id, 22) % 900 as integer))
from staging.candidates
where hash(candidate_id, 23) % 100 = 0;

insert into quality.quarantine (
    entity, record_id, load_id, reasons, payload, quarantined_at, released_at
)
select
    case when r.i % 4 = 0 then 'Candidate' else 'Placement' end,
    cast(10000000 + r.i as varchar),
    'load-' || cast(r.i % 30 as varchar),
    '[' || case r.i % 3
        when 0 then :not_null
        when 1 then :in_set
        else :in_set || ', ' || :not_null
    end || ']',
    json_object('candidate_id', 1 + r.i % 800000, 'email', 'q' || cast(r.i as varchar) || '@x.com'),
    cast(:now as timestamptz) - to_hours(cast(r.i % 720 as integer)),
    case when r.i % 5 = 0 then cast(:now as timestamptz) - to_hours(cast(r.i % 24 as integer)) end
from range(1, 5001) as r (i);

insert into quality.validation_runs (
    run_id, suite, chunk, evaluated, passed, failed, failed_share, success,
    failed_expectations, docs_url, validated_at
)
with nights as (
    select cast(:day as date) - cast(r.n as integer) as night from range(0, 1000) as r (n)
)

select
    'scheduled__' || cast(nights.night as varchar) || 'T02:00:00+00:00',
    s.suite,
    1,
    1000,
    1000 - s.failed,
    s.failed,
    s.failed / 1000.0,
    s.failed = 0,
    '[]',
    null,
    cast(nights.night as timestamp) + interval 2 hour + s.minutes * interval 1 minute
from nights
cross join (values ('placement_rows', 3, 1), ('loads', 0, 2)) as s (suite, failed, minutes);

insert into raw.loads (
    load_id, entity, mode, run_id, started_at, pages, records, extracted_at, validated_at,
    staged_at
)
with nights as (
    select cast(:day as date) - cast(r.n as integer) as night from range(0, 1000) as r (n)
)

select
    'load-' || cast(nights.night as varchar) || '-' || e.entity,
    e.entity,
    'incremental',
    'scheduled__' || cast(nights.night as varchar) || 'T02:00:00+00:00',
    cast(nights.night as timestamp) + interval 2 hour,
    1,
    500,
    cast(nights.night as timestamp) + interval 2 hour,
    cast(nights.night as timestamp) + interval 2 hour,
    cast(nights.night as timestamp) + interval 2 hour
from nights
cross join (values ('Placement'), ('Candidate')) as e (entity);

insert into aftercare.run_summaries (dag_id, run_date, run_id, counts, recorded_at)
with nights as (
    select cast(:day as date) - cast(r.n as integer) as night from range(0, 1000) as r (n)
)

select
    'aftercare_nightly',
    nights.night,
    'scheduled__' || cast(nights.night as varchar) || 'T02:00:00+00:00',
    '{"placements_pulled": 500}',
    cast(nights.night as timestamp) + interval 3 hour
from nights;

insert into aftercare.ops_actions (
    action_id, kind, target, comment, requested_by, requested_at, applied_at, result
)
select
    'manual__action-' || cast(r.n as varchar),
    case r.n % 2 when 0 then 'pause' else 'resume' end,
    case r.n % 3 when 0 then 'check_in' when 1 then 'first_day' else 'review_request' end,
    'benchmark',
    'ops',
    cast(:now as timestamptz) - to_days(cast(100 - r.n as integer)),
    cast(:now as timestamptz) - to_days(cast(100 - r.n as integer)) + interval 1 minute,
    '{}'
from range(0, 100) as r (n);

insert into aftercare.milestone_pauses (milestone, paused_by, paused_at, comment, action_id)
values ('check_in', 'ops', cast(:now as timestamptz), 'benchmark', 'manual__action-99');

-- one candidate reachable by a mobile a person would type (the synthetic ones are drama numbers)
update staging.candidates set mobile_e164 = '+447911123456' where candidate_id = 12345
