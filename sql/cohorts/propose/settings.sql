{% import "macros.sql" as m with context %}
-- The run's settings and the ledger's open rows, for the stages after (temporary tables, this
-- session's, made afresh by every run):
--   plan_day          the local date `plan_date` the run plans, as `d`
--   plan_milestones   the milestones (config: `milestones`; `purpose` service or marketing),
--                     each with `full_reach`, the days
--                     back an occurrence can concern the plan date from (its window or the
--                     look-back)
--   plan_classes      the employment classes a milestone is for (config: `classes`; a
--                     milestone without any is for every class)
--   plan_channel_ranks where each milestone lists each channel (config: `channels`, in order;
--                     its first place, null when not listed)
--   plan_open_ledger  the ledger's rows still open (a planned row is decided again whatever its
--                     due date now)
drop table if exists plan_day;

create temp table plan_day as
select cast(:plan_date as date) as d;

drop table if exists plan_milestones;

create temp table plan_milestones as
select
    r.value ->> 'name' as milestone,
    r.value ->> 'subject' as subject,
    r.value ->> 'purpose' as purpose,
    r.value ->> 'anchor' as anchor,
    cast(r.value ->> 'offset_days' as integer) as offset_days,
    r.value ->> 'repeat' as repeat_rule,
    r.value ->> 'occurrence' as occurrence_rule,
    cast(r.value ->> 'first_occurrence' as integer) as first_occurrence,
    cast(r.value ->> 'window_days' as integer) as window_days,
    cast(r.value ->> 'window_ends_by_anchor' as boolean) as window_ends_by_anchor,
    cast(r.value ->> 'send_time' as time) as send_time,
    cast(r.value ->> 'weekdays_only' as boolean) as weekdays_only,
    cast(r.value ->> 'cap_exempt' as boolean) as cap_exempt,
    cast(r.value ->> 'not_within_days' as integer) as not_within_days,
    cast(r.value ->> 'blocked_by_negative_reply' as boolean) as blocked_by_negative_reply,
    cast(r.value ->> 'no_next_placement_within_days' as integer) as next_placement_days,
    cast(r.value ->> 'recent_placement_days' as integer) as recent_placement_days,
    cast(r.value ->> 'priority' as integer) as priority,
    greatest(cast(r.value ->> 'window_days' as integer), :look_back) as full_reach
from {{ m.json_rows('milestones') }} as r;

drop table if exists plan_classes;

create temp table plan_classes as
select
    r.value ->> 'milestone' as milestone,
    r.value ->> 'class' as employment_class
from {{ m.json_rows('classes') }} as r;

drop table if exists plan_channel_ranks;

create temp table plan_channel_ranks as
with
milestone_channels as (
    select
        r.value ->> 'milestone' as milestone,
        r.value ->> 'channel' as channel,
        cast(r.value ->> 'rank' as integer) as channel_rank
    from {{ m.json_rows('channels') }} as r
)

select
    milestone,
    min(case when channel = 'email' then channel_rank end) as email,
    min(case when channel = 'sms' then channel_rank end) as sms,
    min(case when channel = 'video' then channel_rank end) as video,
    min(case when channel = 'phone' then channel_rank end) as phone
from milestone_channels
group by milestone;

drop table if exists plan_open_ledger;

create temp table plan_open_ledger as
select
    touchpoint_id,
    due_date,
    planned_at,
    attempts,
    provider_message_id,
    milestone,
    coalesce(placement_id, candidate_id) as subject_id
from aftercare.touchpoints
where
    status = 'planned'
    and coalesce(plan_date, cast(:plan_date as date)) <= cast(:plan_date as date);
