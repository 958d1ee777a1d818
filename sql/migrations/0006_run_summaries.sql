-- aftercare.run_summaries: one row per DAG run; counts per stage as json, rewritten when the
-- run is retried or rerun
create table aftercare.run_summaries (
    dag_id varchar not null,
    run_id varchar not null,
    run_date date not null,  -- the run's business date in the agency time zone
    counts {{ types.json }} not null,
    recorded_at timestamptz not null default current_timestamp,
    primary key (dag_id, run_id)
);
