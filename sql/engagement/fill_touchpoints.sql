-- engagement.delivery_events: events stored without their touchpoint (they came in before
-- dispatch had recorded the provider's message id in the ledger) get it now
update engagement.delivery_events as e
set touchpoint_id = t.touchpoint_id
from aftercare.touchpoints as t
where e.touchpoint_id is null
    and e.provider_message_id is not null
    and t.provider_message_id = e.provider_message_id
