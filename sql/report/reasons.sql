-- the report's suppressions and other closings: one row per status x reason (failed,
-- suppressed, cancelled, expired) with its touchpoints, from marts.touchpoint_reasons
select
    status,
    reason,
    cast(sum(touchpoints) as bigint) as touchpoints
from marts.touchpoint_reasons
group by status, reason
order by status asc, touchpoints desc, reason asc
