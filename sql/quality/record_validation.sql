-- quality.validation_runs: one row for one GX validation (a chunk, or the run's loads)
insert into quality.validation_runs (
    run_id, suite, chunk, evaluated, passed, failed, failed_share, success, failed_expectations,
    docs_url
)
values (
    :run_id, :suite, :chunk, :evaluated, :passed, :failed, :failed_share, :success,
    cast(:failed_expectations as {{ types.json }}), :docs_url
)
