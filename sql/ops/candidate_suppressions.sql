-- the channels the candidate must not be contacted on, and why
select
    s.channel,
    s.reason,
    s.source,
    s.created_at
from aftercare.suppressions as s
where s.candidate_id = :candidate_id
order by s.created_at, s.channel
