-- the plan stage decides only what changed since its last run (issue: plan, the benchmark):
-- what a run saw, so the next one knows which staging rows are new to it

-- snapshot_at: every staging row loaded before this instant was visible to the run (rows
-- loaded at or after it are changes to the next run); config_digest: the planning settings it
-- ran with (a run with other settings decides everything again)
alter table aftercare.plan_runs add column snapshot_at timestamptz;
alter table aftercare.plan_runs add column config_digest varchar;
