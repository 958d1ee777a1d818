-- staging.ats_countries: the ATS's own country table (Bullhorn's country ids and codes: "UK"
-- for the United Kingdom, 2359), refreshed from the ATS at each candidate pull; the
-- normaliser reads an address's countryID through it (aftercare.ats.normalise), never through
-- ids written in the config
create table staging.ats_countries (
    country_id bigint primary key,
    code varchar not null,
    loaded_at timestamptz not null
);
