{% import "macros.sql" as m with context %}
-- the Twilio messages of the candidates :candidate_ids: the texts we sent them (the ledger's
-- sids of sends routed by sms) and their replies (the responses loaded from Twilio)
select
    t.candidate_id,
    t.provider_message_id as sid
from aftercare.touchpoints as t
where cast(t.candidate_id as varchar) in {{ m.json_texts('candidate_ids') }}
    and t.provider_message_id is not null
    and t.attempt ->> 'route' = 'sms'
union
select
    e.candidate_id,
    e.response_id as sid
from engagement.responses as e
where cast(e.candidate_id as varchar) in {{ m.json_texts('candidate_ids') }}
    and (
        e.kind in ('reply', 'availability')
        or (e.kind = 'opt_out' and e.detail ->> 'channel' = 'sms')
    )
