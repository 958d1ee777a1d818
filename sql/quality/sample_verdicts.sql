-- what the gate made of a sample (aftercare.ats.doctor, on its throw-away warehouse): every
-- open quarantine row with its reasons, every field finding with its field
select
    entity,
    record_id,
    'quarantined' as verdict,
    cast(reasons as varchar) as what
from quality.quarantine
where released_at is null
union all
select
    entity,
    record_id,
    'field finding' as verdict,
    field as what
from quality.field_findings
order by entity, verdict, what, record_id
