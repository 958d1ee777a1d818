-- aftercare.run_summaries: one row per dag and business date; counts per stage as json. A
-- retried, cleared or manually rerun day rewrites its row (run_id says which run wrote it).
create table aftercare.run_summaries (
    dag_id varchar not null,
    run_date date not null,  -- the run's business date in the agency time zone
    run_id varchar not null,
    counts {{ types.json }} not null,
    recorded_at timestamptz not null default current_timestamp,
    primary key (dag_id, run_date)
);
