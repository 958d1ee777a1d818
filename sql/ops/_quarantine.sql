{#- a quarantine row (alias q) as the console lists it: the record, its load, the failed rules
    (json text), when quarantined and released, whether judging it again is asked -#}
{% macro columns() -%}
q.entity,
    q.record_id,
    q.load_id,
    cast(q.reasons as varchar) as reasons,
    q.quarantined_at,
    q.released_at,
    q.rejudge_requested_at
{%- endmacro %}
