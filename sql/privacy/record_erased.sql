{% import "macros.sql" as m with context %}
-- the erasure suppression, so neither planning nor dispatch reaches them again, whatever the
-- ATS sends: the salted hashes of erased candidates' ids, emails and numbers (a json array of
-- {hash, kind})
insert into aftercare.erased_subjects (subject_hash, kind)
select
    s.value ->> 'hash',
    s.value ->> 'kind'
from {{ m.json_rows('subjects') }} as s
on conflict (subject_hash) do nothing;

-- and an 'all' suppression of each of their ids (a json array)

insert into aftercare.suppressions (candidate_id, channel, reason, source)
select
    cast(k.value as bigint),
    'all',
    'erased',
    'erasure'
from {{ m.json_texts('candidate_ids') }} as k (value)
on conflict (candidate_id, channel) do update set reason = 'erased', source = 'erasure'
