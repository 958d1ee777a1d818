{% import "macros.sql" as m with context %}
-- staging.ats_countries: the ATS's country table as just read (:countries, a json array of
-- {"id", "code"}); a country the ATS no longer lists keeps its last row
insert into staging.ats_countries as c (country_id, code, loaded_at)
select
    cast(r.value ->> 'id' as bigint),
    r.value ->> 'code',
    current_timestamp
from {{ m.json_rows('countries') }} as r
on conflict (country_id) do update
    set code = excluded.code,
        loaded_at = excluded.loaded_at
