{% import "macros.sql" as m with context %}
-- engagement.delivery_events: provider events (:events, a json array of {event_id, channel,
-- provider_message_id, touchpoint_id (may be null), event, event_at, detail}), one row each.
-- The provider's event id is the key: a replayed feed adds nothing. A missing touchpoint id is
-- found through the provider's message id in the ledger.
insert into engagement.delivery_events (
    event_id, touchpoint_id, channel, provider_message_id, event, event_at, detail
)
select
    e.event_id,
    coalesce(e.touchpoint_id, t.touchpoint_id),
    e.channel,
    e.provider_message_id,
    e.event,
    e.event_at,
    e.detail
from (
    select distinct on (value ->> 'event_id')
        value ->> 'event_id' as event_id,
        value ->> 'touchpoint_id' as touchpoint_id,
        value ->> 'channel' as channel,
        value ->> 'provider_message_id' as provider_message_id,
        value ->> 'event' as event,
        cast(value ->> 'event_at' as timestamptz) as event_at,
        value -> 'detail' as detail
    from {{ m.json_rows('events') }}
) as e
left join aftercare.touchpoints as t
    on e.touchpoint_id is null and t.provider_message_id = e.provider_message_id
on conflict (event_id) do nothing
