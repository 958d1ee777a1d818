{% import "ops/_failing.sql" as f %}
-- the latest :samples dispatch batches that tried each provider and error code's failed or
-- in-doubt touchpoints (each row names its batch: the ledger's batch_id, kept by the fold): the
-- runs whose send task logs tell the story
with
grouped as (
    select distinct
        x.provider,
        x.code,
        b.batch_id,
        b.run_id,
        b.channel,
        b.created_at
    from {{ f.failing() }} as x
    inner join aftercare.dispatch_batches as b on b.batch_id = x.batch_id
),

ranked as (
    select
        g.*,
        row_number() over (
            partition by g.provider, g.code order by g.created_at desc, g.batch_id desc
        ) as latest
    from grouped as g
)

select
    provider,
    code,
    batch_id,
    run_id,
    channel,
    created_at
from ranked
where latest <= :samples
order by provider, code, latest
