-- one row per business date of a dag, newest first
select
    run_date,
    run_id,
    counts,
    recorded_at
from aftercare.run_summaries
where dag_id = :dag_id
order by run_date desc
limit :limit
