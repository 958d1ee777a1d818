-- the candidate's placements as staged, the latest start first
select
    p.placement_id,
    p.job_title,
    p.client_name,
    p.status,
    p.employment_class,
    p.is_active,
    p.is_deleted,
    p.start_date,
    p.end_date,
    p.owner_id
from staging.placements as p
where p.candidate_id = :candidate_id
order by p.start_date desc, p.placement_id desc
