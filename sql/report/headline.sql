-- the report's headline: one row of totals. The touchpoints' counts, and the period of due dates
-- they cover, come from marts.touchpoint_funnel; reviews and referrals from marts.reviews and
-- marts.referrals, all of them, attributed to a touchpoint or not, as the report's charts of
-- them count them
with funnel as (
    select
        cast(min(day) as date) as first_day,
        cast(max(day) as date) as last_day,
        cast(coalesce(sum(touchpoints), 0) as bigint) as touchpoints,
        cast(coalesce(sum(sent), 0) as bigint) as sent,
        cast(coalesce(sum(delivered), 0) as bigint) as delivered,
        cast(coalesce(sum(opened_or_viewed), 0) as bigint) as opened_or_viewed,
        cast(coalesce(sum(replied), 0) as bigint) as replied,
        cast(coalesce(sum(calls_done), 0) as bigint) as calls_done,
        cast(coalesce(sum(suppressed), 0) as bigint) as suppressed,
        cast(coalesce(sum(expired), 0) as bigint) as expired
    from marts.touchpoint_funnel
),

reviews as (
    select
        cast(count(*) as bigint) as reviews,
        cast(avg(stars) as decimal(4, 2)) as average_stars
    from marts.reviews
),

referrals as (
    select
        cast(count(*) as bigint) as referrals,
        cast(coalesce(sum(case when converted then 1 else 0 end), 0) as bigint)
            as referrals_converted
    from marts.referrals
)

select
    f.first_day,
    f.last_day,
    f.touchpoints,
    f.sent,
    f.delivered,
    f.opened_or_viewed,
    f.replied,
    f.calls_done,
    f.suppressed,
    f.expired,
    rv.reviews,
    rv.average_stars,
    rf.referrals,
    rf.referrals_converted
from funnel as f
cross join reviews as rv
cross join referrals as rf
