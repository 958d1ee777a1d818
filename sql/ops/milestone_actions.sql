-- the last pause or resume applied to each milestone
with
ranked as (
    select
        a.*,
        row_number() over (
            partition by a.target order by a.applied_at desc, a.action_id desc
        ) as latest
    from aftercare.ops_actions as a
    where a.kind in ('pause', 'resume')
)

select
    action_id,
    kind,
    target,
    comment,
    requested_by,
    requested_at,
    applied_at
from ranked
where latest = 1
order by target
