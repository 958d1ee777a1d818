-- the provider events of the candidate's touchpoints, the latest first
select
    e.event_id,
    e.touchpoint_id,
    e.channel,
    e.event,
    e.event_at,
    e.provider_message_id
from engagement.delivery_events as e
inner join aftercare.touchpoints as t on t.touchpoint_id = e.touchpoint_id
where t.candidate_id = :candidate_id
order by e.event_at desc, e.event_id desc
