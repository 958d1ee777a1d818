-- the report's reviews over time: one row per week (its Monday, UTC) with reviews, from
-- marts.reviews: how many and their average stars
with weeks as (
    select
        cast(date_trunc('week', cast(reviewed_on as timestamp)) as date) as week,
        stars
    from marts.reviews
)

select
    week,
    cast(count(*) as bigint) as reviews,
    cast(avg(stars) as decimal(4, 2)) as average_stars
from weeks
group by week
order by week
