-- the run summaries (aftercare.run_summaries) a run of :dag_id wrote
select
    s.run_date,
    cast(s.counts as varchar) as counts,
    s.recorded_at
from aftercare.run_summaries as s
where s.dag_id = :dag_id and s.run_id = :run_id
order by s.run_date
