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

{#- the objects of a json array bound as :name through aftercare.warehouse.json_records (on
    DuckDB the path of a file holding it, read by read_json; elsewhere its text), one row each,
    as the typed columns `columns` (name -> type) -#}
{% macro json_records(name, columns) -%}
{% if dialect == 'postgresql' -%}
(select * from jsonb_to_recordset(cast(:{{ name }} as jsonb)) as r (
{%- for column, type in columns.items() %}
    {{ column }} {{ type }}{{ ',' if not loop.last }}
{%- endfor %}
))
{%- else -%}
read_json(:{{ name }}, format = 'array', columns = {
{%- for column, type in columns.items() %}
    '{{ column }}': '{{ type }}'{{ ',' if not loop.last }}
{%- endfor %}
})
{%- endif %}
{%- endmacro %}

{#- the (key, value) text pairs of a json object passed as the bound parameter :name -#}
{% macro json_pairs(name) -%}
{% if dialect == 'postgresql' -%}
(select r.key, r.value from jsonb_each_text(cast(:{{ name }} as jsonb)) as r)
{%- else -%}
(select r.key, r.value ->> '$' as value from json_each(cast(:{{ name }} as json)) as r)
{%- endif %}
{%- endmacro %}

{#- the date a Bullhorn date-only field (epoch ms) holds: the US-Eastern date when the instant is
    midnight there (Bullhorn's own midnight), else the date in the agency's zone, bound as :zone
    (its users' midnight, or a time of day): placements' start and end, candidates' births -#}
{% macro local_date(epoch_ms) -%}
case
    when cast(timezone('America/New_York', to_timestamp({{ epoch_ms }} / 1000.0)) as time)
        = time '00:00:00'
        then cast(timezone('America/New_York', to_timestamp({{ epoch_ms }} / 1000.0)) as date)
    else cast(timezone(:zone, to_timestamp({{ epoch_ms }} / 1000.0)) as date)
end
{%- endmacro %}

{#- a whole row of the table alias as a json object -#}
{% macro row_json(alias) -%}
{% if dialect == 'postgresql' %}to_jsonb({{ alias }}){% else %}to_json({{ alias }}){% endif %}
{%- endmacro %}

{#- the text values of a json array passed as the bound parameter :name, as a subquery -#}
{% macro json_texts(name) -%}
{% if dialect == 'postgresql' -%}
(select r.value from jsonb_array_elements_text(cast(:{{ name }} as jsonb)) as r(value))
{%- else -%}
(select r.value ->> '$' from json_each(cast(:{{ name }} as json)) as r)
{%- endif %}
{%- endmacro %}

{#- whether a record (entity name, id expression) has an open quarantine row: for the version
    of load expression `load_id` when given, else for any version -#}
{% macro quarantined(entity, id, load_id=none) -%}
exists (
    select 1
    from quality.quarantine as q
    where q.entity = '{{ entity }}'
        and q.record_id = cast({{ id }} as varchar)
        {% if load_id %}and q.load_id = {{ load_id }}
        {% endif %}and q.released_at is null
)
{%- endmacro %}

{#- the field of a record's version (its load) as staging takes it: absent (null) when it failed a
    field rule of the gate (quality.field_findings) -#}
{% macro unless_found(entity, id, load_id, field, value) -%}
case when exists (
    select 1
    from quality.field_findings as ff
    where ff.entity = '{{ entity }}'
        and ff.record_id = cast({{ id }} as varchar)
        and ff.load_id = {{ load_id }}
        and ff.field = '{{ field }}'
) then null else {{ value }} end
{%- endmacro %}

{#- date expression `day` plus `years` whole years (29 Feb becomes 28 Feb in common years) -#}
{% macro add_years(day, years) -%}
{% if dialect == 'postgresql' -%}
cast({{ day }} + make_interval(years => cast({{ years }} as integer)) as date)
{%- else -%}
cast({{ day }} + to_years(cast({{ years }} as integer)) as date)
{%- endif %}
{%- endmacro %}

{#- the UTC instant of local date `day` at local time `at` in the IANA zone expression `zone` -#}
{% macro local_instant(day, at, zone) -%}
{% if dialect == 'postgresql' -%}
(({{ day }} + {{ at }}) at time zone {{ zone }})
{%- else -%}
timezone({{ zone }}, cast({{ day }} + {{ at }} as timestamp))
{%- endif %}
{%- endmacro %}

{#- the local date in the IANA zone expression `zone` of the instant expression `instant` -#}
{% macro local_day(instant, zone) -%}
{% if dialect == 'postgresql' -%}
cast(({{ instant }} at time zone {{ zone }}) as date)
{%- else -%}
cast(timezone({{ zone }}, {{ instant }}) as date)
{%- endif %}
{%- endmacro %}

{#- the median of a numeric expression (an aggregate) -#}
{% macro median(expression) -%}
{% if dialect == 'postgresql' -%}
percentile_cont(0.5) within group (order by {{ expression }})
{%- else -%}
median({{ expression }})
{%- endif %}
{%- endmacro %}

{#- whole years from date expression `born` to date expression `on` (an age) -#}
{% macro years_between(born, on) -%}
{% if dialect == 'postgresql' -%}
cast(extract(year from age({{ on }}, {{ born }})) as integer)
{%- else -%}
cast(date_part('year', age(cast({{ on }} as timestamp), cast({{ born }} as timestamp))) as integer)
{%- endif %}
{%- endmacro %}

{#- the records of a batch of pages, one row each as (page, record): :{{ name }} is a json array
    of page bodies (records under "data"), the first page is :first_page, and every page but the
    last holds :page_size records. DuckDB reads the text as it comes: the client decoded every
    body already, and a cast to json would parse all of it once more only to validate it -#}
{% macro batch_records(name) -%}
{% if dialect == 'postgresql' -%}
(select
    cast(:first_page as integer) + cast((r.position - 1) / :page_size as integer) as page,
    r.value as record
from jsonb_path_query(cast(:{{ name }} as jsonb), '$[*].data[*]') with ordinality
    as r(value, position))
{%- else -%}
(select
    cast(:first_page as integer) + cast((position - 1) // :page_size as integer) as page,
    value as record
from (
    select unnest(records) as value, generate_subscripts(records, 1) as position
    from (select json_extract(:{{ name }}, '$[*].data[*]') as records)
))
{%- endif %}
{%- endmacro %}

{#- every version of each record that the loads being staged (:load_ids) brought, from
    staging.<table>, ranked newest first in `version_rank` (ties: the later load, the later
    page); staging takes version_rank = 1. With `again`, also the version of an earlier load
    that an operator asked to judge again: 'requested' (its quarantine row open, with
    rejudge_requested_at: what the gate judges), 'released' (judged again and released, with
    rejudged_at: what staging takes); a newer version from the loads still ranks first -#}
{% macro ranked_changes(table, key, entity, again=none) -%}
(select
    v.*,
    row_number() over (
        partition by v.{{ key }}
        order by v.date_last_modified desc, v.load_started_at desc, v.page desc
    ) as version_rank
from (
    select
        c.*,
        l.started_at as load_started_at
    from staging.{{ table }} as c
    inner join raw.loads as l on l.load_id = c.load_id
    where l.entity = '{{ entity }}' and l.load_id in {{ json_texts('load_ids') }}
    {%- if again %}
    union all
    select
        c.*,
        l.started_at as load_started_at
    from staging.{{ table }} as c
    inner join raw.loads as l on l.load_id = c.load_id
    inner join quality.quarantine as q
        on q.entity = '{{ entity | lower }}'
        and q.record_id = cast(c.{{ key }} as varchar)
        and q.load_id = c.load_id
    where l.load_id not in {{ json_texts('load_ids') }}
        {% if again == 'requested' -%}
        and q.rejudge_requested_at is not null and q.released_at is null
        {%- else -%}
        and q.rejudged_at is not null and q.released_at is not null
        {%- endif %}
    {%- endif %}
) as v)
{%- endmacro %}

{#- the local wall-clock time of an instant expression in a zone expression -#}
{% macro local_time(instant, zone) -%}
{% if dialect == 'postgresql' -%}
cast(({{ instant }} at time zone {{ zone }}) as time)
{%- else -%}
cast(timezone({{ zone }}, {{ instant }}) as time)
{%- endif %}
{%- endmacro %}

{#- whether a time expression falls in the quiet hours bound as :quiet_start and :quiet_end
    (a span across midnight when the start is after the end) -#}
{% macro in_quiet_hours(at) -%}
case
    when cast(:quiet_start as time) > cast(:quiet_end as time)
        then {{ at }} >= cast(:quiet_start as time) or {{ at }} < cast(:quiet_end as time)
    else {{ at }} >= cast(:quiet_start as time) and {{ at }} < cast(:quiet_end as time)
end
{%- endmacro %}

{#- channel consent of the staging.candidates row `c` (none once anonymised or deleted in the
    ATS): email needs an address, no opt-out and no email or all suppression; sms an E.164
    mobile, the opt-in and no sms or all suppression; phone a number and no all suppression -#}
{% macro email_ok(c) -%}
(not ({{ c }}.is_anonymized or {{ c }}.is_deleted) and {{ c }}.email is not null
    and not {{ c }}.email_opt_out
    and not exists (
        select 1 from aftercare.suppressions as s
        where s.candidate_id = {{ c }}.candidate_id and s.channel in ('email', 'all')
    ))
{%- endmacro %}
{% macro sms_ok(c) -%}
(not ({{ c }}.is_anonymized or {{ c }}.is_deleted) and {{ c }}.mobile_e164 is not null
    and {{ c }}.sms_opt_in
    and not exists (
        select 1 from aftercare.suppressions as s
        where s.candidate_id = {{ c }}.candidate_id and s.channel in ('sms', 'all')
    ))
{%- endmacro %}
{% macro phone_ok(c) -%}
(not ({{ c }}.is_anonymized or {{ c }}.is_deleted)
    and coalesce({{ c }}.phone_e164, {{ c }}.mobile_e164) is not null
    and not exists (
        select 1 from aftercare.suppressions as s
        where s.candidate_id = {{ c }}.candidate_id and s.channel = 'all'
    ))
{%- endmacro %}

{#- whether the candidate (id expression) was erased (aftercare_erasure): never reached again -#}
{% macro erased(candidate_id) -%}
exists (
    select 1 from aftercare.suppressions as s
    where s.candidate_id = {{ candidate_id }} and s.channel = 'all' and s.source = 'erasure'
)
{%- endmacro %}

{#- whether the staging.candidates row `c` may get milestones whose purpose is marketing: no
    marketing suppression (an all suppression stops every channel already) -#}
{% macro marketing_ok(c) -%}
(not exists (
    select 1 from aftercare.suppressions as s
    where s.candidate_id = {{ c }}.candidate_id and s.channel = 'marketing'
))
{%- endmacro %}

{#- whether a touchpoint (id expression) is in a dispatch batch whose journal is not yet folded
    into the ledger: in flight, so no other batch may take it and nothing may close it -#}
{% macro in_flight(touchpoint_id) -%}
exists (
    select 1
    from aftercare.dispatch_items as i
    inner join aftercare.dispatch_batches as b on b.batch_id = i.batch_id
    where i.touchpoint_id = {{ touchpoint_id }} and b.recorded_at is null
)
{%- endmacro %}

{#- whether a milestone (name expression) is paused by an operator (aftercare.milestone_pauses):
    dispatch batches none of its touchpoints, and those whose window passes meanwhile expire as
    milestone_paused -#}
{% macro paused(milestone) -%}
exists (select 1 from aftercare.milestone_pauses as mp where mp.milestone = {{ milestone }})
{%- endmacro %}

{#- the instant from which staging rows may be invisible to this transaction, taken before it
    reads staging: its start (the time its staging rows were loaded at, were it loading), and
    on Postgres the start of any older transaction still open on this database (its rows
    commit later, with an earlier loaded_at); DuckDB has one writer process at a time -#}
{% macro snapshot_start() -%}
{% if dialect == 'postgresql' -%}
(select least(current_timestamp, min(a.xact_start))
    from pg_stat_activity as a
    where a.datname = current_database())
{%- else -%}
current_timestamp
{%- endif %}
{%- endmacro %}

{#- a json object from a list of alternating key and value expressions -#}
{% macro json_object(pairs) -%}
{% if dialect == 'postgresql' %}jsonb_build_object({{ pairs | join(', ') }}){% else %}json_object({{ pairs | join(', ') }}){% endif %}
{%- endmacro %}

{#- whether the yearly anniversaries of date `anchor` can fall near date `target`: their days
    of the year lie within `reach` days of each other, with days to spare for leap years and
    weekend moves (a cheap superset test on every subject; the exact dates are worked out
    after it) -#}
{% macro near_in_year(anchor, target, reach) -%}
least(
    abs(extract(doy from {{ anchor }}) - extract(doy from {{ target }})),
    366 - abs(extract(doy from {{ anchor }}) - extract(doy from {{ target }}))
) <= {{ reach }} + 4
{%- endmacro %}

{#- date expression `day`, moved to the Monday when it falls on a weekend and `weekdays_only`
    (a boolean expression) holds -#}
{% macro weekday_on_or_after(day, weekdays_only) -%}
case
    when {{ weekdays_only }} and extract(isodow from {{ day }}) >= 6
        then {{ day }} + cast(8 - extract(isodow from {{ day }}) as integer)
    else {{ day }}
end
{%- endmacro %}

{#- the deterministic id of a milestone occurrence (columns of `alias`): milestone, subject,
    number -#}
{% macro touchpoint_id(alias) -%}
{{ alias }}.milestone || ':' || case
    when {{ alias }}.placement_id is null
        then 'candidate:' || cast({{ alias }}.candidate_id as varchar)
    else 'placement:' || cast({{ alias }}.placement_id as varchar)
end || ':' || cast(cast({{ alias }}.occurrence as integer) as varchar)
{%- endmacro %}

{#- the places in the milestone's channel list (plan_channel_ranks alias `r`) of the channels
    the candidate (plan_candidates alias `c`) may be reached on for the occurrence (alias `h`):
    video goes out by email, else by sms; phone needs the placement's owner; the first eligible
    channel has the least -#}
{% macro eligible_ranks(c, r, h) -%}
case when {{ c }}.email_ok then {{ r }}.email end,
    case when {{ c }}.sms_ok then {{ r }}.sms end,
    case when {{ c }}.email_ok or {{ c }}.sms_ok then {{ r }}.video end,
    case when {{ c }}.phone_ok and {{ h }}.owner_id is not null then {{ r }}.phone end
{%- endmacro %}
