{% import "macros.sql" as m with context %}
-- what :provider was already asked to erase, of the items :items (a json array)
select p.item
from aftercare.provider_erasures as p
where p.provider = :provider and p.item in {{ m.json_texts('items') }}
