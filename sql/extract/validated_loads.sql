-- one row per load that passed the validation gate and has not reached staging yet
select load_id
from raw.loads
where entity in ('Placement', 'Candidate') and validated_at is not null and staged_at is null
