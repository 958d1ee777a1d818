-- the candidates the ATS anonymised or deleted whose data we still hold (not yet erased)
select c.candidate_id
from staging.candidates as c
where (c.is_anonymized or c.is_deleted)
    and not exists (
        select 1
        from aftercare.suppressions as s
        where s.candidate_id = c.candidate_id and s.channel = 'all' and s.source = 'erasure'
    )
order by c.candidate_id
