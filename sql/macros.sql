{#- Dialect helpers for sql files: {% import "macros.sql" as m with context %} -#}

{#- the elements of a json array passed as the bound parameter :name, one row each, as `value` -#}
{% macro json_rows(name) -%}
{% if dialect == 'postgresql' %}jsonb_array_elements(cast(:{{ name }} as jsonb)){% else %}json_each(cast(:{{ name }} as json)){% endif %}
{%- endmacro %}

{#- a whole row of the table alias as a json object -#}
{% macro row_json(alias) -%}
{% if dialect == 'postgresql' %}to_jsonb({{ alias }}){% else %}to_json({{ alias }}){% endif %}
{%- endmacro %}
