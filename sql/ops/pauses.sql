-- the paused milestones: who paused each, when and why
select
    p.milestone,
    p.paused_by,
    p.paused_at,
    p.comment,
    p.action_id
from aftercare.milestone_pauses as p
order by p.milestone
