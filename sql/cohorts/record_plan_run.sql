-- aftercare.plan_runs: the run for local date :plan_date decided (again), seeing staging as
-- of :snapshot_at (cohorts/snapshot_start.sql), with the planning settings and rules of digest
-- :config_digest
insert into aftercare.plan_runs (plan_date, planned_at, snapshot_at, config_digest)
values (
    cast(:plan_date as date), current_timestamp, cast(:snapshot_at as timestamptz), :config_digest
)
on conflict (plan_date) do update
    set planned_at = excluded.planned_at,
        snapshot_at = excluded.snapshot_at,
        config_digest = excluded.config_digest
