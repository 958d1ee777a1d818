-- what the warehouse took in from :started_at to :ended_at (an engagement run's interval:
-- nothing there records a run id): provider events by channel and event, responses by kind,
-- follow-ups made in the ATS by action, suppressions by channel and reason
select
    'delivery_events' as loaded,
    e.channel || '/' || e.event as kind,
    count(*) as loaded_rows
from engagement.delivery_events as e
where e.loaded_at between cast(:started_at as timestamptz) and cast(:ended_at as timestamptz)
group by e.channel, e.event
union all
select
    'responses',
    r.kind,
    count(*)
from engagement.responses as r
where r.loaded_at between cast(:started_at as timestamptz) and cast(:ended_at as timestamptz)
group by r.kind
union all
select
    'actions',
    a.action,
    count(*)
from engagement.actions as a
where a.done_at between cast(:started_at as timestamptz) and cast(:ended_at as timestamptz)
group by a.action
union all
select
    'suppressions',
    s.channel || '/' || s.reason,
    count(*)
from aftercare.suppressions as s
where s.created_at between cast(:started_at as timestamptz) and cast(:ended_at as timestamptz)
group by s.channel, s.reason
order by loaded, kind
