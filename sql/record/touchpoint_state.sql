-- one touchpoint of the ledger as it stands: status, reason, due date, when it was to go out
-- and went out, the candidate's zone (null: the agency's); no row when there is none
select
    t.status,
    t.reason,
    cast(t.due_date as varchar) as due_date,
    t.send_at,
    t.sent_at,
    c.time_zone as zone
from aftercare.touchpoints as t
left join staging.candidates as c on c.candidate_id = t.candidate_id
where t.touchpoint_id = :touchpoint_id
