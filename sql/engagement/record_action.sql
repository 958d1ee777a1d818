-- engagement.actions: the follow-up made in the ATS for a response (or why it could not be)
insert into engagement.actions (response_id, action, ats_id, failed_reason)
values (:response_id, :action, :ats_id, :failed_reason)
on conflict (response_id) do nothing
