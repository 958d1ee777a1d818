{% import "macros.sql" as m with context %}
-- engagement.responses: responses tied to a touchpoint (:responses, a json array of
-- {response_id, touchpoint_id, kind, occurred_at, detail}: reviews carrying our reference,
-- email unsubscribes and spam reports), one row each; the candidate is the touchpoint's. A
-- response for a touchpoint the ledger does not hold is not ours, and left out. The provider's
-- id is the key: a replayed feed adds nothing.
insert into engagement.responses (
    response_id, candidate_id, kind, occurred_at, touchpoint_id, detail
)
select
    r.value ->> 'response_id',
    t.candidate_id,
    r.value ->> 'kind',
    cast(r.value ->> 'occurred_at' as timestamptz),
    t.touchpoint_id,
    r.value -> 'detail'
from {{ m.json_rows('responses') }} as r
inner join aftercare.touchpoints as t on t.touchpoint_id = r.value ->> 'touchpoint_id'
on conflict (response_id) do nothing
