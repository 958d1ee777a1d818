-- the circuit breaker (the quality gate's load suite) on the last run that judged loads
select
    v.run_id,
    v.validated_at,
    v.success,
    v.evaluated,
    v.failed,
    cast(v.failed_expectations as varchar) as failed_expectations,
    v.docs_url
from quality.validation_runs as v
where v.suite = 'loads'
order by v.validated_at desc
limit 1
