-- one row per milestone, channel, status and reason of the run's decisions (plan_proposals)
select
    milestone,
    channel,
    status,
    reason,
    count(*) as touchpoints
from plan_proposals
group by milestone, channel, status, reason
order by milestone, channel, status, reason
