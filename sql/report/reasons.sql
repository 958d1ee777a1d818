-- the report's suppressions and other closings: one row per status x reason (failed,
-- suppressed, cancelled, expired) with its touchpoints, from marts.touchpoint_reasons. Leaves
-- out what had expired before the first planned night (aftercare.plan_runs): occurrences already
-- past their window when aftercare went live, which would swamp every other reason
with first_night as (
    select min(plan_date) as first_day
    from aftercare.plan_runs
)

select
    r.status,
    r.reason,
    cast(sum(r.touchpoints) as bigint) as touchpoints
from marts.touchpoint_reasons as r
cross join first_night as f
where f.first_day is null or r.status <> 'expired' or r.day >= f.first_day
group by r.status, r.reason
order by r.status asc, touchpoints desc, r.reason asc
