-- one row per dag run: a retried or rerun run rewrites its own row
insert into aftercare.run_summaries (dag_id, run_id, run_date, counts, recorded_at)
values (:dag_id, :run_id, :run_date, cast(:counts as {{ types.json }}), current_timestamp)
on conflict (dag_id, run_id) do update
set run_date = excluded.run_date,
    counts = excluded.counts,
    recorded_at = excluded.recorded_at
