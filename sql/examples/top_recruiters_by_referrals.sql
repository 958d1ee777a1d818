-- example: one row per recruiter (owner_id) over all months: referrals, converted referrals,
-- reviews and their average stars, most referrals first (from marts.recruiter_scorecard)
with totals as (
    select
        recruiter_id,
        sum(referrals) as referrals,
        sum(referrals_converted) as referrals_converted,
        sum(reviews) as reviews,
        sum(review_stars) as stars
    from marts.recruiter_scorecard
    where recruiter_id is not null
    group by recruiter_id
)

select
    recruiter_id,
    cast(referrals as bigint) as referrals,
    cast(referrals_converted as bigint) as referrals_converted,
    cast(reviews as bigint) as reviews,
    cast(1.0 * stars / nullif(reviews, 0) as decimal(4, 2)) as average_stars
from totals
order by referrals desc, referrals_converted desc, recruiter_id asc
