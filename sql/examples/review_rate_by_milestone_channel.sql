-- example: one row per milestone x channel that sent anything: touchpoints sent, reviews they
-- earned, and reviews per 100 sends (from marts.touchpoint_funnel)
with sends as (
    select
        milestone,
        channel,
        sum(sent) as sent,
        sum(reviews) as reviews
    from marts.touchpoint_funnel
    group by milestone, channel
)

select
    milestone,
    channel,
    cast(sent as bigint) as sent,
    cast(reviews as bigint) as reviews,
    cast(100.0 * reviews / sent as decimal(6, 1)) as review_rate_pct
from sends
where sent > 0
order by milestone, channel
