-- aftercare.ops_actions: what the action :action_id did (counts), once applied
update aftercare.ops_actions
set result = cast(:result as {{ types.json }})
where action_id = :action_id
