-- the report's headline: one row of totals over marts.touchpoint_funnel
select
    cast(coalesce(sum(touchpoints), 0) as bigint) as touchpoints,
    cast(coalesce(sum(sent), 0) as bigint) as sent,
    cast(coalesce(sum(delivered), 0) as bigint) as delivered,
    cast(coalesce(sum(opened_or_viewed), 0) as bigint) as opened_or_viewed,
    cast(coalesce(sum(replied), 0) as bigint) as replied,
    cast(coalesce(sum(calls_done), 0) as bigint) as calls_done,
    cast(coalesce(sum(suppressed), 0) as bigint) as suppressed,
    cast(coalesce(sum(expired), 0) as bigint) as expired,
    cast(coalesce(sum(reviews), 0) as bigint) as reviews,
    cast(1.0 * sum(review_stars) / nullif(sum(reviews), 0) as decimal(4, 2)) as average_stars,
    cast(coalesce(sum(referrals), 0) as bigint) as referrals,
    cast(coalesce(sum(referrals_converted), 0) as bigint) as referrals_converted
from marts.touchpoint_funnel
