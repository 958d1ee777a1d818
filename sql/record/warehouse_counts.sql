-- one row: the state of the warehouse at the end of a run, for the run summary
select
    (select count(*) from staging.placements) as staged_placements,
    (select count(*) from staging.candidates) as staged_candidates,
    (select count(*) from quality.quarantine as q where q.released_at is null) as quarantined_open,
    (select count(*) from aftercare.suppressions) as suppressions,
    count(*) filter (where t.status = 'planned') as touchpoints_planned,
    count(*) filter (where t.status = 'sent') as touchpoints_sent,
    count(*) filter (where t.status = 'failed') as touchpoints_failed,
    count(*) filter (where t.status = 'suppressed') as touchpoints_suppressed,
    count(*) filter (where t.status = 'cancelled') as touchpoints_cancelled,
    count(*) filter (where t.status = 'expired') as touchpoints_expired
from aftercare.touchpoints as t
