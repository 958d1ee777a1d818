-- the touchpoints due on local date :day, by milestone, channel (null: none) and status
select
    t.milestone,
    t.channel,
    t.status,
    count(*) as touchpoints
from aftercare.touchpoints as t
where t.due_date = cast(:day as date)
group by t.milestone, t.channel, t.status
order by t.milestone, t.channel, t.status
