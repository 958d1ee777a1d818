{% import "ops/_failing.sql" as f %}
-- failed (since :since) and in-doubt touchpoints by provider and error code: how many, when
-- first and last (the ledger's updated_at), and up to :samples of their ids, latest first
with
failing as (
    select
        x.provider,
        x.code,
        x.touchpoint_id,
        row_number() over (
            partition by x.provider, x.code order by x.updated_at desc, x.touchpoint_id desc
        ) as latest,
        count(*) over (partition by x.provider, x.code) as touchpoints,
        min(x.updated_at) over (partition by x.provider, x.code) as first_seen,
        max(x.updated_at) over (partition by x.provider, x.code) as last_seen
    from {{ f.failing() }} as x
)

select
    provider,
    code,
    touchpoint_id,
    latest,
    touchpoints,
    first_seen,
    last_seen
from failing
where latest <= :samples
order by touchpoints desc, provider asc, code asc, latest asc
