-- aftercare.plan_runs: one row per local date a plan run decided (even when it wrote no
-- touchpoint), so a backfill of an earlier date knows a later one is planned already
create table aftercare.plan_runs (
    plan_date date primary key,
    planned_at timestamptz not null default current_timestamp
);
