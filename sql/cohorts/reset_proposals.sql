-- aftercare.plan_proposals: emptied before a run decides into it
delete from aftercare.plan_proposals
