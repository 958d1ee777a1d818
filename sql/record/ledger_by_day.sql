-- one row per due date (from :first_day to :last_day), channel, status and reason of the ledger
-- aftercare.touchpoints: what became of each day's touchpoints (channel 'none': no channel)
select
    due_date,
    coalesce(channel, 'none') as channel,
    status,
    reason,
    count(*) as touchpoints
from aftercare.touchpoints
where due_date between cast(:first_day as date) and cast(:last_day as date)
group by due_date, coalesce(channel, 'none'), status, reason
order by due_date, channel, status, reason
