{% import "ops/_failing.sql" as f %}
-- the latest :samples dispatch batches (created since :since) that carried each provider and
-- error code's failed or in-doubt touchpoints: the runs whose send task logs tell the story
with
carried as (
    select distinct
        x.provider,
        x.code,
        b.batch_id,
        b.run_id,
        b.channel,
        b.created_at
    from aftercare.dispatch_batches as b
    inner join aftercare.dispatch_items as i on i.batch_id = b.batch_id
    inner join {{ f.failing() }} as x on x.touchpoint_id = i.touchpoint_id
    where b.created_at >= cast(:since as timestamptz)
),

ranked as (
    select
        c.*,
        row_number() over (
            partition by c.provider, c.code order by c.created_at desc, c.batch_id desc
        ) as latest
    from carried as c
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
