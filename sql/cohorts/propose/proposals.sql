{% import "macros.sql" as m with context %}
-- plan_proposals: one row per milestone occurrence that the run for local date `plan_date`
-- decides (the stages before this one, run in order: settings, changed, occurrences,
-- eligibility, cap), with the status and reason it decides:
--   planned     due, inside its window, a channel, within the cap: send_at on `plan_date` (or
--               on the day after, when the cap defers it and its window allows; or on its due
--               date when that is still ahead, a planned row whose date moved; weekday-only
--               milestones never on a weekend)
--   expired     missed_window: its window closed unsent (due within `look_back` days)
--   suppressed  quarantined (a newer version of the candidate or placement failed the gate),
--               candidate_removed, recently_sent, negative_reply, marketing_opt_out (a
--               marketing milestone, the candidate stopped marketing), no_eligible_channel,
--               frequency_cap
--   cancelled   next_placement: the candidate is placed again within reach of the end;
--               placement_changed: a planned row whose due date moved out of reach, or whose
--               occurrence is no longer due while its placement runs on;
--               placement_ended: a planned row whose placement ended (or went) before it
-- Local dates and times are the candidate's (else the agency's `zone`).
insert into plan_proposals (
    touchpoint_id, milestone, placement_id, candidate_id, occurrence, channel, due_date,
    window_end, send_at, status, reason, planned_at, attempts, provider_message_id, is_new
)
select
    d.touchpoint_id,
    d.milestone,
    d.placement_id,
    d.candidate_id,
    d.occurrence,
    -- the channel it goes out on, or would have: none when the reason is about the subject,
    -- whatever the channel (docs/data-dictionary.md, "channel")
    case
        when d.decided is null then d.channel
        when d.decided like 'cancelled:%' then null
        when d.decided in (
                'suppressed:quarantined',
                'suppressed:candidate_removed',
                'suppressed:negative_reply'
            ) then null
        else d.channel
    end as channel,
    d.due_date,
    d.window_end,
    case
        when d.decided is null and d.send_day <= d.window_end
            then {{ m.local_instant('d.send_day', 'd.send_time', 'd.zone') }}
    end as send_at,
    case
        when d.decided is not null then split_part(d.decided, ':', 1)
        when d.send_day > d.window_end and d.deferred then 'suppressed'
        when d.send_day > d.window_end then 'expired'
        else 'planned'
    end as status,
    case
        when d.decided is not null then split_part(d.decided, ':', 2)
        when d.send_day > d.window_end and d.deferred then 'frequency_cap'
        when d.send_day > d.window_end then 'missed_window'
    end as reason,
    coalesce(o.planned_at, current_timestamp) as planned_at,
    coalesce(o.attempts, 0) as attempts,
    o.provider_message_id,
    -- not in the ledger at all (every other proposal is one of its planned rows)
    o.touchpoint_id is null as is_new
from plan_scheduled as d
left join plan_open_ledger as o on o.touchpoint_id = d.touchpoint_id;

-- the ledger's planned rows no longer due at all, cancelled (a reason about the subject: no
-- channel): the placement ended, or changed out of reach. Every planned row's subject was looked
-- at by the stages before, so a planned row without a proposal is one no longer due.
insert into plan_proposals (
    touchpoint_id, milestone, placement_id, candidate_id, occurrence, channel, due_date,
    window_end, send_at, status, reason, planned_at, attempts, provider_message_id, is_new
)
select
    t.touchpoint_id,
    t.milestone,
    t.placement_id,
    t.candidate_id,
    t.occurrence,
    null,
    t.due_date,
    t.window_end,
    null,
    'cancelled',
    case
        when exists (
                select 1
                from staging.placements as p
                where p.placement_id = t.placement_id
                    and p.is_active
                    and not p.is_deleted
                    and (p.end_date is null or p.end_date >= t.due_date)
            ) then 'placement_changed'
        else 'placement_ended'
    end,
    t.planned_at,
    t.attempts,
    t.provider_message_id,
    false
from aftercare.touchpoints as t
where t.status = 'planned'
    and coalesce(t.plan_date, cast(:plan_date as date)) <= cast(:plan_date as date)
    and not exists (
        select 1 from plan_proposals as p where p.touchpoint_id = t.touchpoint_id
    );
