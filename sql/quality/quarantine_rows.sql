{% import "macros.sql" as m with context %}
-- quality.quarantine: one row per record (and load) that failed its row suite, with every
-- reason, and the version that failed as its payload; :failures is a json array of
-- {"id", "load_id", "reasons"}. Validating again (a rerun after the breaker tripped) refreshes
-- the reasons of the same rows.
insert into quality.quarantine as q (entity, record_id, load_id, reasons, payload)
with
failures as (
    select
        cast(f.value ->> 'id' as bigint) as record_id,
        f.value ->> 'load_id' as load_id,
        f.value -> 'reasons' as reasons
    from {{ m.json_rows('failures') }} as f
),

versions as (
    select
        c.*,
        row_number() over (
            partition by c.{{ key }}, c.load_id order by c.date_last_modified desc, c.page desc
        ) as version_rank
    from staging.{{ table }} as c
    inner join failures as f on f.record_id = c.{{ key }} and f.load_id = c.load_id
)

select
    :entity,
    cast(f.record_id as varchar),
    f.load_id,
    cast(f.reasons as {{ types.json }}),
    {{ m.row_json('v') }}
from failures as f
inner join versions as v
    on v.{{ key }} = f.record_id and v.load_id = f.load_id and v.version_rank = 1
on conflict (entity, record_id, load_id) do update
    set reasons = excluded.reasons,
        payload = excluded.payload,
        released_at = null
