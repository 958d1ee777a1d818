{% import "macros.sql" as m with context %}
-- engagement.responses: the opt-outs the preferences service recorded (:opt_outs, a json array
-- of {response_id, candidate_id, channel, touchpoint_id, source, occurred_at}), one row each,
-- kind opt_out, attributed to the touchpoint whose link was used (null when the ledger does not
-- hold it). The service's event key is the key: a replayed feed adds nothing.
insert into engagement.responses (
    response_id, candidate_id, kind, occurred_at, touchpoint_id, detail
)
select
    o.value ->> 'response_id',
    cast(o.value ->> 'candidate_id' as bigint),
    'opt_out',
    cast(o.value ->> 'occurred_at' as timestamptz),
    t.touchpoint_id,
    {{ m.json_object(
        ["'channel'", "o.value ->> 'channel'", "'source'", "o.value ->> 'source'"]
    ) }}
from {{ m.json_rows('opt_outs') }} as o
left join aftercare.touchpoints as t on t.touchpoint_id = o.value ->> 'touchpoint_id'
on conflict (response_id) do nothing
