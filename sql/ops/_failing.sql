{#- the ledger's failed rows (updated since :since) and its rows in doubt, each with its
    provider (the prefix of a provider's reason: twilio of twilio_21211; else the route of the
    last try, or the channel) and error code (the reason; in_doubt for a row in doubt) -#}
{% macro failing() -%}
(select
    t.touchpoint_id,
    t.updated_at,
    case
        when t.in_doubt then coalesce(t.attempt ->> 'route', t.channel)
        when strpos(t.reason, '_') > 0 then split_part(t.reason, '_', 1)
        else coalesce(t.attempt ->> 'route', t.channel, 'none')
    end as provider,
    case when t.in_doubt then 'in_doubt' else t.reason end as code
from aftercare.touchpoints as t
where t.in_doubt
    or (t.status = 'failed' and t.updated_at >= cast(:since as timestamptz)))
{%- endmacro %}
