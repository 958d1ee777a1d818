{#- Dialect helpers for sql files: {% import "macros.sql" as m with context %} -#}

{#- the elements of a json array expression, one row each, as `value` (json) -#}
{% macro json_elements(expression) -%}
{% if dialect == 'postgresql' %}jsonb_array_elements({{ expression }}){% else %}json_each({{ expression }}){% endif %}
{%- endmacro %}

{#- the elements of a json array passed as the bound parameter :name (or of its member `key`,
    when given), one row each, as `value` -#}
{% macro json_rows(name, key=none) -%}
{% if key %}{{ json_elements('cast(:' ~ name ~ ' as ' ~ types.json ~ ") -> '" ~ key ~ "'") }}{% else %}{{ json_elements('cast(:' ~ name ~ ' as ' ~ types.json ~ ')') }}{% endif %}
{%- endmacro %}

{#- the (key, value) text pairs of a json object passed as the bound parameter :name -#}
{% macro json_pairs(name) -%}
{% if dialect == 'postgresql' -%}
(select r.key, r.value from jsonb_each_text(cast(:{{ name }} as jsonb)) as r)
{%- else -%}
(select r.key, r.value ->> '$' as value from json_each(cast(:{{ name }} as json)) as r)
{%- endif %}
{%- endmacro %}

{#- the local date, in the IANA zone bound as :zone, of an epoch-milliseconds expression -#}
{% macro local_date(epoch_ms) -%}
cast(timezone(:zone, to_timestamp({{ epoch_ms }} / 1000.0)) as date)
{%- endmacro %}

{#- a whole row of the table alias as a json object -#}
{% macro row_json(alias) -%}
{% if dialect == 'postgresql' %}to_jsonb({{ alias }}){% else %}to_json({{ alias }}){% endif %}
{%- endmacro %}
