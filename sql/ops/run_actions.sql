-- the operators' actions applied from :started_at to :ended_at (an ops run's interval)
select
    a.action_id,
    a.kind,
    a.target,
    a.comment,
    a.requested_by,
    a.requested_at,
    a.applied_at
from aftercare.ops_actions as a
where a.applied_at between cast(:started_at as timestamptz) and cast(:ended_at as timestamptz)
order by a.applied_at, a.action_id
