-- one row per dag and business date: a rerun of the day rewrites it
insert into aftercare.run_summaries (dag_id, run_date, run_id, counts, recorded_at)
values (:dag_id, :run_date, :run_id, cast(:counts as {{ types.json }}), current_timestamp)
on conflict (dag_id, run_date) do update
    set run_id = excluded.run_id,
        counts = excluded.counts,
        recorded_at = excluded.recorded_at
