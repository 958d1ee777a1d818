{% import "ops/_failing.sql" as f %}
-- the latest :samples dispatch batches (created since :since) that carried each provider and
-- error code's failed or in-doubt touchpoints: the runs whose send task logs tell the story.
-- The recent batches' items first (the items of a batch lie together), then the failing rows
with
recent as (
    select
        b.batch_id,
        b.run_id,
        b.channel,
        b.created_at
    from aftercare.dispatch_batches as b
    where b.created_at >= cast(:since as timestamptz)
),

carried as (
    select
        i.batch_id,
        i.touchpoint_id
    from aftercare.dispatch_items as i
    where i.batch_id in (select r.batch_id from recent as r)
),

grouped as (
    select distinct
        x.provider,
        x.code,
        r.batch_id,
        r.run_id,
        r.channel,
        r.created_at
    from carried as c
    inner join recent as r on r.batch_id = c.batch_id
    inner join {{ f.failing() }} as x on x.touchpoint_id = c.touchpoint_id
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
