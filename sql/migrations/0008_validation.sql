-- the validation gate (issue: validate): results per validation, and which loads passed it

-- quality.validation_runs: one row per Great Expectations validation: a chunk of a run's rows
-- against an entity's row suite, or the run's loads against the load suite (the breaker)
create table quality.validation_runs (
    run_id varchar not null,       -- the Airflow run (GX run name)
    suite varchar not null,        -- placement_rows, candidate_rows, loads
    chunk integer not null,        -- 1.. for row suites; 1 for the load suite
    evaluated integer not null,    -- rows (row suites) or loads (load suite) checked
    passed integer not null,
    failed integer not null,
    failed_share double precision not null,
    success boolean not null,      -- every expectation met (the load suite's decides the run)
    failed_expectations {{ types.json }} not null,  -- [{"expectation": .., "column": ..}]
    docs_url varchar,              -- the validation's page in the GX Data Docs
    validated_at timestamptz not null default current_timestamp,
    primary key (run_id, suite, chunk, validated_at)
);

-- raw.loads: when the load passed the gate (staging takes only validated loads)
alter table raw.loads add column validated_at timestamptz;

create index quarantine_open on quality.quarantine (entity, record_id);
