-- the action :action_id as recorded (what a re-run returns instead of applying it again)
select
    kind,
    target,
    cast(result as varchar) as result
from aftercare.ops_actions
where action_id = :action_id
