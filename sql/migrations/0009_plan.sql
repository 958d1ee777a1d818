-- the plan stage (issue: plan): what the ledger needs beyond its contract, and the work table a
-- run decides into before the ledger takes it

-- the run date (local) that last decided a row: a run for an earlier date (a backfill) never
-- overrides a later one; and the last local date the occurrence may go out
alter table aftercare.touchpoints add column plan_date date;
alter table aftercare.touchpoints add column window_end date;

-- aftercare.plan_proposals: one row per milestone occurrence the current run decided (emptied
-- by each run; read only inside the planning transaction)
create table aftercare.plan_proposals (
    touchpoint_id varchar primary key,
    milestone varchar not null,
    placement_id bigint,
    candidate_id bigint not null,
    occurrence integer not null,
    channel varchar,
    due_date date not null,
    window_end date not null,
    send_at timestamptz,
    status varchar not null,
    reason varchar,
    planned_at timestamptz not null  -- kept from the ledger row it replaces
);
