-- quality.validation_runs for the Data Docs' front page: each pass of the gate (one verdict of
-- the load suite), newest first, with the record checks of the same pass (the run's row-suite
-- chunks since its previous verdict): how many records each judged and quarantined
with verdicts as (
    select
        run_id,
        validated_at,
        success,
        evaluated,
        failed,
        docs_url,
        lag(validated_at) over (partition by run_id order by validated_at) as previous_at
    from quality.validation_runs
    where suite = :load_suite
    order by validated_at desc
    limit :passes
)

select
    l.run_id,
    l.validated_at,
    l.success as gate_passed,
    l.evaluated as loads,
    l.failed as loads_failed,
    l.docs_url as gate_url,
    r.suite,
    count(r.chunk) as chunks,
    coalesce(sum(r.evaluated), 0) as records,
    coalesce(sum(r.failed), 0) as quarantined,
    min(r.docs_url) as records_url
from verdicts as l
left join quality.validation_runs as r
    on
        r.run_id = l.run_id
        and r.suite <> :load_suite
        and r.validated_at <= l.validated_at
        and (l.previous_at is null or r.validated_at > l.previous_at)
group by
    l.run_id, l.validated_at, l.success, l.evaluated, l.failed, l.docs_url, r.suite
order by l.validated_at desc, r.suite asc
