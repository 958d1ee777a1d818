-- benchmarks only: the baseline of the plan benchmark, one plain scan of the staging tables
-- joined on the candidate, touching the columns planning reads (one row: counts)
select
    count(*) as rows,
    count(p.end_date) as with_end,
    count(c.email) as with_email,
    count(c.date_of_birth) as with_birth_date,
    max(p.start_date) as last_start
from staging.placements as p
inner join staging.candidates as c on c.candidate_id = p.candidate_id
where p.is_active and not p.is_deleted
