-- aftercare.dispatch_batches: a batch whose journal is folded into the ledger, with the count
-- of each outcome; its touchpoints are no longer in flight
update aftercare.dispatch_batches
set recorded_at = current_timestamp,
    outcomes = cast(:outcomes as {{ types.json }})
where batch_id = :batch_id
