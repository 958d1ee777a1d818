-- the report's funnel: one row per milestone x channel x stage (sent, delivered, opened or
-- viewed, replied, reviews, referrals) with its count, from marts.touchpoint_funnel
with totals as (
    select
        milestone,
        channel,
        sum(sent) as sent,
        sum(delivered) as delivered,
        sum(opened_or_viewed) as opened_or_viewed,
        sum(replied) as replied,
        sum(reviews) as reviews,
        sum(referrals) as referrals
    from marts.touchpoint_funnel
    where channel <> 'none'
    group by milestone, channel
),

stages as (
    select
        milestone,
        channel,
        1 as stage_order,
        'sent' as stage,
        sent as n
    from totals
    union all
    select
        milestone,
        channel,
        2,
        'delivered',
        delivered
    from totals
    union all
    select
        milestone,
        channel,
        3,
        'opened or viewed',
        opened_or_viewed
    from totals
    union all
    select
        milestone,
        channel,
        4,
        'replied',
        replied
    from totals
    union all
    select
        milestone,
        channel,
        5,
        'reviews',
        reviews
    from totals
    union all
    select
        milestone,
        channel,
        6,
        'referrals',
        referrals
    from totals
)

select
    milestone,
    channel,
    stage_order,
    stage,
    cast(n as bigint) as touchpoints
from stages
order by milestone, channel, stage_order
