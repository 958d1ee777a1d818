-- engagement.actions: the action made in the ATS for a response or a sent touchpoint (or why
-- it could not be)
insert into engagement.actions (source_id, action, ats_id, failed_reason)
values (:source_id, :action, :ats_id, :failed_reason)
on conflict (source_id, action) do nothing
