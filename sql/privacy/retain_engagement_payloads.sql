-- retention: the provider details of delivery events before :cutoff (a bounce type, an error
-- code); the events stay, and the responses the marts read are kept whole
update engagement.delivery_events
set detail = null
where event_at < cast(:cutoff as timestamptz) and detail is not null
