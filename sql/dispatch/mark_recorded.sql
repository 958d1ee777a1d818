-- aftercare.dispatch_batches: a batch whose journal is folded into the ledger, with the count
-- of each outcome; its touchpoints are no longer in flight, and its items go (only a batch in
-- flight needs them: kept, they would grow with every send the ledger ever made, and the
-- in-flight check reads them)
update aftercare.dispatch_batches
set
    recorded_at = current_timestamp,
    outcomes = cast(:outcomes as {{ types.json }})
where batch_id = :batch_id;

delete from aftercare.dispatch_items
where batch_id = :batch_id
