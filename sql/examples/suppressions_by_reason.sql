-- example: one row per reason touchpoints due from :first_day to :last_day (local dates, bound
-- parameters) were suppressed, most frequent first (from marts.touchpoint_reasons)
with suppressed as (
    select
        reason,
        touchpoints
    from marts.touchpoint_reasons
    where status = 'suppressed'
        and day between cast(:first_day as date) and cast(:last_day as date)
)

select
    reason,
    cast(sum(touchpoints) as bigint) as touchpoints
from suppressed
group by reason
order by touchpoints desc, reason asc
