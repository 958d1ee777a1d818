{% import "macros.sql" as m with context %}
-- :provider was asked to erase the items :asked (a json array of {item, candidate_id})
insert into aftercare.provider_erasures (provider, item, candidate_id)
select
    :provider,
    a.value ->> 'item',
    cast(a.value ->> 'candidate_id' as bigint)
from {{ m.json_rows('asked') }} as a
on conflict (provider, item) do nothing
