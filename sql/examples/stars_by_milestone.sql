-- example: one row per milestone that earned reviews ('unattributed': a review we could not tie
-- to a touchpoint): reviews, average stars, median whole days from the send to the review
-- (from marts.reviews)
with reviews as (
    select
        coalesce(milestone, 'unattributed') as milestone,
        stars,
        days_to_review
    from marts.reviews
)

select
    milestone,
    cast(count(*) as bigint) as reviews,
    cast(avg(stars) as decimal(4, 2)) as average_stars,
    cast(
        percentile_cont(0.5) within group (order by days_to_review) as double precision
    ) as median_days_to_review
from reviews
group by milestone
order by milestone
