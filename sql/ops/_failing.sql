{#- the ledger's rows in doubt and its failed rows (updated since :since), each with its
    provider (the prefix of a provider's reason: twilio of twilio_21211; else the route of the
    last try, or the channel), error code (the reason; in_doubt for a row in doubt) and the
    dispatch batch that tried it last (batch_id: the fold keeps it). Two scans, each of one
    simple filter the warehouse can apply as it reads -#}
{% macro failing() -%}
(select
    t.touchpoint_id,
    t.updated_at,
    t.batch_id,
    coalesce(t.attempt ->> 'route', t.channel, 'none') as provider,
    'in_doubt' as code
from aftercare.touchpoints as t
where t.in_doubt
union all
select
    t.touchpoint_id,
    t.updated_at,
    t.batch_id,
    case
        when strpos(t.reason, '_') > 0 then split_part(t.reason, '_', 1)
        else coalesce(t.attempt ->> 'route', t.channel, 'none')
    end,
    t.reason
from aftercare.touchpoints as t
where t.status = 'failed' and t.updated_at >= cast(:since as timestamptz))
{%- endmacro %}
