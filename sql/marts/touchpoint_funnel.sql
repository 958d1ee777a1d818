-- marts.touchpoint_funnel: one row per day (the touchpoint's local due date) x milestone x
-- channel ('none': no channel was eligible) of the ledger aftercare.touchpoints.
-- Every count is of touchpoints (each counted once however many events it had), except
-- reviews, review_stars, referrals and referrals_converted, which count responses. Engagement
-- is counted on the due day of the touchpoint it is attributed to (a cohort view), so a late
-- event changes the row of the day its touchpoint belongs to at the next rebuild. The reasons
-- behind failed, suppressed, cancelled and expired are broken down in marts.touchpoint_reasons.
drop table if exists marts.touchpoint_funnel;

create table marts.touchpoint_funnel as
with ledger as (
    select
        touchpoint_id,
        due_date as day,
        milestone,
        coalesce(channel, 'none') as channel,
        status
    from aftercare.touchpoints
),

-- what the providers told us about each touchpoint
touchpoint_events as (
    select
        touchpoint_id,
        bool_or(event = 'delivered') as delivered,
        bool_or(event in ('undelivered', 'failed', 'bounced')) as undelivered,
        -- a video is viewed when its page was opened or its recording played (an embed
        -- reports no play)
        bool_or(event in ('opened', 'page_opened', 'played')) as opened_or_viewed,
        bool_or(event = 'clicked') as clicked,
        bool_or(event = 'completed') as call_done,
        bool_or(event in ('unsubscribed', 'spam_report')) as unsubscribed
    from engagement.delivery_events
    where touchpoint_id is not null
    group by touchpoint_id
),

-- what the candidates did in answer to each touchpoint
touchpoint_responses as (
    select
        touchpoint_id,
        bool_or(kind in ('reply', 'availability')) as replied,
        bool_or(kind = 'opt_out') as opted_out,
        count(*) filter (where kind = 'review') as reviews,
        sum(case when kind = 'review' then cast(detail ->> 'stars' as integer) end) as stars,
        count(*) filter (where kind = 'referral') as referrals,
        count(*) filter (
            where kind = 'referral' and coalesce(cast(detail ->> 'converted' as boolean), false)
        ) as referrals_converted
    from engagement.responses
    where touchpoint_id is not null
    group by touchpoint_id
)

select
    l.day,
    l.milestone,
    l.channel,
    cast(count(*) as bigint) as touchpoints,
    cast(count(*) filter (where l.status = 'planned') as bigint) as planned,
    cast(count(*) filter (where l.status = 'sent') as bigint) as sent,
    cast(count(*) filter (where l.status = 'failed') as bigint) as failed,
    cast(count(*) filter (where l.status = 'suppressed') as bigint) as suppressed,
    cast(count(*) filter (where l.status = 'cancelled') as bigint) as cancelled,
    cast(count(*) filter (where l.status = 'expired') as bigint) as expired,
    cast(count(*) filter (where e.delivered) as bigint) as delivered,
    cast(count(*) filter (where e.undelivered) as bigint) as undelivered,
    cast(count(*) filter (where e.opened_or_viewed) as bigint) as opened_or_viewed,
    cast(count(*) filter (where e.clicked) as bigint) as clicked,
    cast(count(*) filter (where e.call_done) as bigint) as calls_done,
    cast(count(*) filter (where r.replied) as bigint) as replied,
    cast(count(*) filter (where e.unsubscribed or r.opted_out) as bigint) as opted_out,
    cast(coalesce(sum(r.reviews), 0) as bigint) as reviews,
    cast(coalesce(sum(r.stars), 0) as bigint) as review_stars,
    cast(coalesce(sum(r.referrals), 0) as bigint) as referrals,
    cast(coalesce(sum(r.referrals_converted), 0) as bigint) as referrals_converted
from ledger as l
left join touchpoint_events as e on e.touchpoint_id = l.touchpoint_id
left join touchpoint_responses as r on r.touchpoint_id = l.touchpoint_id
group by l.day, l.milestone, l.channel;
