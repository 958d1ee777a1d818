{% import "ops/_quarantine.sql" as quarantine %}
-- the quarantine rows, open or released, of the candidate and of its placements (a placement
-- quarantined names its candidate in the version that failed), the latest first
select
    {{ quarantine.columns() }}
from quality.quarantine as q
where (q.entity = 'Candidate' and q.record_id = cast(:candidate_id as varchar))
    or (q.entity = 'Placement' and q.payload ->> 'candidate_id' = cast(:candidate_id as varchar))
order by q.quarantined_at desc, q.entity asc, q.record_id asc
