-- the quality gate's validations (quality.validation_runs) of a nightly run
select
    v.suite,
    v.chunk,
    v.evaluated,
    v.failed,
    v.success,
    v.validated_at,
    v.docs_url
from quality.validation_runs as v
where v.run_id = :run_id
order by v.validated_at, v.suite, v.chunk
