-- marts.touchpoint_reasons: one row per day (local due date) x milestone x channel ('none': no
-- channel) x status x reason, for the statuses that carry a reason (failed, suppressed,
-- cancelled, expired): the breakdown behind those columns of marts.touchpoint_funnel (summed
-- over reasons, a status's touchpoints equal the funnel's column of that name)
drop table if exists marts.touchpoint_reasons;

create table marts.touchpoint_reasons as
with closed as (
    select
        due_date as day,
        milestone,
        coalesce(channel, 'none') as channel,
        status,
        coalesce(reason, 'unknown') as reason
    from aftercare.touchpoints
    where status not in ('planned', 'sent')
)

select
    day,
    milestone,
    channel,
    status,
    reason,
    cast(count(*) as bigint) as touchpoints
from closed
group by day, milestone, channel, status, reason;
