-- example: one row per month (first day, UTC) in which referrals were made: referrals, how many
-- of the referred candidates were placed, and the conversion rate (from marts.referrals)
with referrals as (
    select
        cast(date_trunc('month', cast(referred_on as timestamp)) as date) as month,
        converted
    from marts.referrals
)

select
    month,
    cast(count(*) as bigint) as referrals,
    cast(count(*) filter (where converted) as bigint) as converted,
    cast(100.0 * count(*) filter (where converted) / count(*) as decimal(6, 1)) as conversion_pct
from referrals
group by month
order by month
