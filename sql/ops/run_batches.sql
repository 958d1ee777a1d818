-- the batches (aftercare.dispatch_batches) a dispatch run wrote, with their folded outcomes
select
    b.batch_id,
    b.channel,
    b.touchpoints,
    b.dry_run,
    b.created_at,
    b.recorded_at,
    cast(b.outcomes as varchar) as outcomes
from aftercare.dispatch_batches as b
where b.run_id = :run_id
order by b.created_at, b.batch_id
