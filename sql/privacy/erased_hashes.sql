{% import "macros.sql" as m with context %}
-- which of the hashes :hashes (a json array) are of erased subjects
select e.subject_hash
from aftercare.erased_subjects as e
where e.subject_hash in {{ m.json_texts('hashes') }}
