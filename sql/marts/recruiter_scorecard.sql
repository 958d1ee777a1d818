{% import "macros.sql" as m with context %}
{% import "marts/_attribution.sql" as a %}
-- marts.recruiter_scorecard: one row per recruiter (staging.placements.owner_id; null when a
-- row cannot be tied to a placement) x month (first day of the calendar month). Each measure
-- counts in the month it happened: placements under aftercare by their touchpoints' local due
-- dates (any status but cancelled), touchpoints sent and placements reached by sent_at (UTC),
-- call tasks done by the 'completed' event's time (UTC), reviews and referrals by when they were
-- left (UTC; a conversion counts in its referral's month). Touchpoints without a placement (a
-- birthday) belong to the candidate's latest placement; reviews and referrals are attributed as
-- in marts.reviews and marts.referrals, which are rebuilt before this one.
drop table if exists marts.recruiter_scorecard;

create table marts.recruiter_scorecard as
with
{{ a.ranked_placements() }},

-- every touchpoint with the recruiter it counts for
owned_touchpoints as (
    select
        t.touchpoint_id,
        t.status,
        t.due_date,
        t.sent_at,
        p.placement_id,
        p.owner_id as recruiter_id
    from aftercare.touchpoints as t
    left join ranked_placements as lp
        on lp.candidate_id = t.candidate_id and lp.placement_rank = 1
    left join staging.placements as p
        on p.placement_id = coalesce(t.placement_id, lp.placement_id)
),

-- one row per thing that happened: (recruiter, day, measure, the id it counts, stars)
activity as (
    select
        recruiter_id,
        due_date as day,
        'aftercare' as measure,
        cast(placement_id as varchar) as item,
        cast(null as integer) as stars
    from owned_touchpoints
    where status <> 'cancelled' and placement_id is not null

    union all

    select
        recruiter_id,
        {{ m.local_day('sent_at', "'UTC'") }} as day,
        'sent' as measure,
        touchpoint_id as item,
        cast(null as integer) as stars
    from owned_touchpoints
    where status = 'sent' and sent_at is not null

    union all

    select
        recruiter_id,
        {{ m.local_day('sent_at', "'UTC'") }} as day,
        'reached' as measure,
        cast(placement_id as varchar) as item,
        cast(null as integer) as stars
    from owned_touchpoints
    where status = 'sent' and sent_at is not null and placement_id is not null

    union all

    select
        t.recruiter_id,
        {{ m.local_day('e.event_at', "'UTC'") }} as day,
        'call_done' as measure,
        t.touchpoint_id as item,
        cast(null as integer) as stars
    from engagement.delivery_events as e
    inner join owned_touchpoints as t on t.touchpoint_id = e.touchpoint_id
    where e.event = 'completed'

    union all

    select
        recruiter_id,
        reviewed_on as day,
        'review' as measure,
        response_id as item,
        stars
    from marts.reviews

    union all

    select
        recruiter_id,
        referred_on as day,
        case when converted then 'converted_referral' else 'referral' end as measure,
        response_id as item,
        cast(null as integer) as stars
    from marts.referrals
),

monthly as (
    select
        recruiter_id,
        cast(date_trunc('month', cast(day as timestamp)) as date) as month,
        measure,
        item,
        stars
    from activity
)

select
    recruiter_id,
    month,
    cast(count(distinct item) filter (where measure = 'aftercare') as bigint)
        as placements_under_aftercare,
    cast(count(distinct item) filter (where measure = 'reached') as bigint) as placements_reached,
    cast(count(distinct item) filter (where measure = 'sent') as bigint) as touchpoints_sent,
    cast(count(distinct item) filter (where measure = 'call_done') as bigint) as call_tasks_done,
    cast(count(distinct item) filter (where measure = 'review') as bigint) as reviews,
    cast(coalesce(sum(stars) filter (where measure = 'review'), 0) as bigint) as review_stars,
    cast(avg(stars) filter (where measure = 'review') as decimal(4, 2)) as average_stars,
    cast(
        count(distinct item) filter (where measure in ('referral', 'converted_referral'))
        as bigint
    ) as referrals,
    cast(count(distinct item) filter (where measure = 'converted_referral') as bigint)
        as referrals_converted
from monthly
group by recruiter_id, month;
