-- the pulls from the ATS (raw.loads) a nightly run made
select
    l.load_id,
    l.entity,
    l.mode,
    l.records,
    l.started_at,
    l.extracted_at,
    l.validated_at,
    l.staged_at
from raw.loads as l
where l.run_id = :run_id
order by l.started_at, l.load_id
