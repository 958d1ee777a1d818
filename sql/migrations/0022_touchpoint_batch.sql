-- The dispatch batch whose journal last changed a ledger row (issue 15: the ops console's
-- Failures page links each failed or in-doubt touchpoint to the send task that tried it). The
-- fold sets it with the outcome; the batch's items are deleted once folded, so nothing else
-- keeps which batch tried a row. Null for a row no fold has changed, and for rows folded before
-- this migration (their batches' items are gone: nothing to fill it from).
alter table aftercare.touchpoints add column batch_id varchar;
