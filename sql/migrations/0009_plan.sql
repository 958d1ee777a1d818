-- the plan stage (issue: plan): what the ledger needs beyond its contract

-- the run date (local) that last decided a row: a run for an earlier date (a backfill) never
-- overrides a later one; and the last local date the occurrence may go out
alter table aftercare.touchpoints add column plan_date date;
alter table aftercare.touchpoints add column window_end date;
