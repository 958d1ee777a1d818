{% import "macros.sql" as m with context %}
-- engagement.responses: inbound text replies (:replies, a json array of {response_id,
-- from_number, occurred_at, reading: stop|answer_yes|answer_no|negative|positive|none}), one
-- row each for a candidate we know by that mobile number, attributed to the latest touchpoint
-- sent to them by text before the reply. STOP is an opt_out; a yes or no answering an availability
-- check is an availability answer; anything else is a reply with its sentiment (if any).
-- START is not a response: it only lifts the sms suppression (lift_sms_suppressions.sql).
with replies as (
    select
        value ->> 'response_id' as response_id,
        value ->> 'from_number' as from_number,
        cast(value ->> 'occurred_at' as timestamptz) as occurred_at,
        value ->> 'reading' as reading
    from {{ m.json_rows('replies') }}
    where value ->> 'reading' <> 'start'
),

senders as (
    select
        r.*,
        c.candidate_id
    from replies as r
    inner join staging.candidates as c on c.mobile_e164 = r.from_number
),

attributed as (
    select
        s.*,
        (
            select t.touchpoint_id
            from aftercare.touchpoints as t
            where t.candidate_id = s.candidate_id
                and t.status = 'sent'
                and t.attempt ->> 'route' = 'sms'
                and t.sent_at <= s.occurred_at
            order by t.sent_at desc, t.touchpoint_id desc
            limit 1
        ) as touchpoint_id
    from senders as s
)

insert into engagement.responses (
    response_id, candidate_id, kind, occurred_at, touchpoint_id, detail
)
select
    a.response_id,
    a.candidate_id,
    case
        when a.reading = 'stop' then 'opt_out'
        when a.reading in ('answer_yes', 'answer_no') and t.milestone = 'availability_check'
            then 'availability'
        else 'reply'
    end,
    a.occurred_at,
    a.touchpoint_id,
    case
        when
            a.reading = 'stop'
            then cast('{"channel": "sms", "keyword": "stop"}' as {{ types.json }})
        when a.reading = 'answer_yes' and t.milestone = 'availability_check'
            then cast('{"answer": "yes"}' as {{ types.json }})
        when a.reading = 'answer_no' and t.milestone = 'availability_check'
            then cast('{"answer": "no"}' as {{ types.json }})
        when a.reading = 'negative' then cast('{"sentiment": "negative"}' as {{ types.json }})
        when a.reading in ('positive', 'answer_yes')
            then cast('{"sentiment": "positive"}' as {{ types.json }})
        else cast('{}' as {{ types.json }})
    end
from attributed as a
left join aftercare.touchpoints as t on t.touchpoint_id = a.touchpoint_id
on conflict (response_id) do nothing
