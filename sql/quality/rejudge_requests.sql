-- how many open quarantine rows an operator asked to judge again (the gate judges them even on
-- a night without loads)
select count(*) as requests
from quality.quarantine
where rejudge_requested_at is not null and released_at is null
