-- example: one row per reason touchpoints due in a period (local dates: edit the period) were
-- suppressed, most frequent first (from marts.touchpoint_reasons)
with period as (
    select
        cast('2026-01-01' as date) as first_day,
        cast('2026-01-31' as date) as last_day
),

suppressed as (
    select
        r.reason,
        r.touchpoints
    from marts.touchpoint_reasons as r
    inner join period as p on r.day between p.first_day and p.last_day
    where r.status = 'suppressed'
)

select
    reason,
    cast(sum(touchpoints) as bigint) as touchpoints
from suppressed
group by reason
order by touchpoints desc, reason asc
