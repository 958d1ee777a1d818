{#- the ledger's rows as the console lists them (alias t), the latest due date first, then by
    send time and id, at most :row_limit: those the call selects (one simple filter the
    warehouse applies as it reads, and the others) -#}
{% macro listed() -%}
select
    t.touchpoint_id,
    t.milestone,
    t.candidate_id,
    t.placement_id,
    t.channel,
    t.status,
    t.reason,
    t.due_date,
    t.window_end,
    t.send_at,
    t.sent_at,
    t.updated_at,
    t.provider_message_id,
    t.attempts,
    t.in_doubt
from aftercare.touchpoints as t
where {{ caller() }}
order by t.due_date desc, t.send_at asc nulls last, t.touchpoint_id asc
limit :row_limit
{%- endmacro %}
