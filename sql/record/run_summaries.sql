-- one row per run of a dag, newest business date first
select run_id, run_date, counts, recorded_at
from aftercare.run_summaries
where dag_id = :dag_id
order by run_date desc, recorded_at desc
limit :limit
