-- aftercare.milestone_pauses: the milestone :milestone is paused from now on; pausing a paused
-- milestone keeps the pause as it was (who, when, why)
insert into aftercare.milestone_pauses (milestone, paused_by, paused_at, comment, action_id)
values (
    :milestone, :requested_by, cast(:requested_at as timestamptz), :comment, :action_id
)
on conflict (milestone) do nothing
