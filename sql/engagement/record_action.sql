-- engagement.actions: the follow-up made in the ATS for a response
insert into engagement.actions (response_id, action, ats_id) values (:response_id, :action, :ats_id)
on conflict (response_id) do nothing
