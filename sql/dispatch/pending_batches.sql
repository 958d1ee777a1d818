-- one row per batch whose journal is not yet folded into the ledger, oldest first
select
    batch_id,
    channel,
    path,
    dry_run
from aftercare.dispatch_batches
where recorded_at is null
order by created_at, batch_id
