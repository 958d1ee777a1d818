-- one row per load whose rows have not reached staging yet (a pull that died included)
select load_id
from raw.loads
where entity in ('Placement', 'Candidate') and staged_at is null
