-- what the ledger aftercare.touchpoints holds, by status and reason (the touchpoints of every
-- due date from :first_day to :last_day)
select
    status,
    reason,
    count(*) as touchpoints
from aftercare.touchpoints
where due_date between cast(:first_day as date) and cast(:last_day as date)
group by status, reason
order by status, reason
