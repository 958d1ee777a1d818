{% import "macros.sql" as m with context %}
-- aftercare.touchpoints: what the send tasks' journals say happened (:outcomes, a json array
-- of {touchpoint_id, candidate_id, outcome, reason, provider_message_id, at, attempt}, one per
-- touchpoint tried), folded into the ledger. A send is the truth: it is written whatever the
-- row's state, except over an earlier send. Other outcomes only touch rows still planned:
-- failed and suppressed with their reason; expired (an unconfirmed try found nothing at the
-- provider once its window had closed); transient and in_doubt leave the row planned, in doubt
-- or not. Every try counts an attempt and keeps what it tried (route, time, links, body hash),
-- and the batch it was in (:batch_id: the ops console links a failure to its send task).
create temporary table dispatch_outcomes as
select
    value ->> 'touchpoint_id' as touchpoint_id,
    cast(value ->> 'candidate_id' as bigint) as candidate_id,
    value ->> 'outcome' as outcome,
    value ->> 'reason' as reason,
    value ->> 'provider_message_id' as provider_message_id,
    cast(value ->> 'at' as timestamptz) as at,
    value -> 'attempt' as attempt
from {{ m.json_rows('outcomes') }};

update aftercare.touchpoints as t
set
    status = case o.outcome
        when 'sent' then 'sent'
        when 'failed' then 'failed'
        when 'suppressed' then 'suppressed'
        when 'expired' then 'expired'
        else t.status
    end,
    reason = case
        when o.outcome in ('failed', 'suppressed', 'expired') then o.reason
        when o.outcome = 'sent' then null
        else t.reason
    end,
    provider_message_id = coalesce(o.provider_message_id, t.provider_message_id),
    sent_at = case when o.outcome = 'sent' then o.at else t.sent_at end,
    in_doubt = o.outcome = 'in_doubt',
    attempt = coalesce(o.attempt, t.attempt),
    attempts = t.attempts + 1,
    batch_id = :batch_id,
    updated_at = current_timestamp
from dispatch_outcomes as o
where o.touchpoint_id = t.touchpoint_id
    and t.status <> 'sent'
    and (t.status = 'planned' or o.outcome = 'sent');

-- a recipient who answered STOP at the provider: no sms until they opt in again
insert into aftercare.suppressions (candidate_id, channel, reason, source)
select distinct
    o.candidate_id,
    'sms',
    o.reason,
    'dispatch'
from dispatch_outcomes as o
where o.outcome = 'suppressed' and o.reason = 'sms_opted_out'
on conflict do nothing;

drop table dispatch_outcomes;
