-- aftercare.milestone_pauses: the milestone :milestone is paused no more (the next dispatch run
-- sends what is still in its window)
delete from aftercare.milestone_pauses
where milestone = :milestone
