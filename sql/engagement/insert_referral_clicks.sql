{% import "macros.sql" as m with context %}
-- engagement.delivery_events: clicks on referral links the preferences service recorded
-- (:clicks, a json array of {event_id, touchpoint_id, occurred_at, reference}), event
-- referral_click on the touchpoint that asked (its channel); a click on a link the ledger does
-- not know (sent before links named their touchpoint) is left out. A replayed feed adds nothing.
insert into engagement.delivery_events (
    event_id, touchpoint_id, channel, provider_message_id, event, event_at, detail
)
select
    c.value ->> 'event_id',
    t.touchpoint_id,
    t.channel,
    null,
    'referral_click',
    cast(c.value ->> 'occurred_at' as timestamptz),
    {{ m.json_object(["'reference'", "c.value ->> 'reference'"]) }}
from {{ m.json_rows('clicks') }} as c
inner join aftercare.touchpoints as t on t.touchpoint_id = c.value ->> 'touchpoint_id'
on conflict (event_id) do nothing
