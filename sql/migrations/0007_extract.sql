-- the extract stage: loads, raw pages, watermarks, normalised changes (issue: extract)

-- raw.loads: one row per pull of one entity from the ATS
create table raw.loads (
    load_id varchar primary key,
    entity varchar not null check (entity in ('Placement', 'Candidate', 'PlacementIds')),
    mode varchar not null check (mode in ('incremental', 'full', 'sweep')),
    run_id varchar,
    started_at timestamptz not null default current_timestamp,
    after_ms bigint,  -- the feed position the pull started after
    after_id bigint,
    pages integer not null default 0,
    records integer not null default 0,
    extracted_at timestamptz,  -- null while the pull runs, or if it died
    staged_at timestamptz      -- null until its rows reached staging
);

-- raw.placements, raw.candidates: append-only, one row per record per page, as the ATS sent it
create table raw.placements (
    load_id varchar not null,
    page integer not null,
    extracted_at timestamptz not null,
    placement_id bigint not null,
    date_last_modified_ms bigint not null,
    record {{ types.json }} not null
);

create table raw.candidates (
    load_id varchar not null,
    page integer not null,
    extracted_at timestamptz not null,
    candidate_id bigint not null,
    date_last_modified_ms bigint not null,
    record {{ types.json }} not null
);

-- raw.placement_ids: one row per placement id a deletion sweep found in the ATS
create table raw.placement_ids (
    load_id varchar not null,
    placement_id bigint not null
);

-- raw.watermarks: one row per entity, the feed position after the last stored page
create table raw.watermarks (
    entity varchar primary key,
    date_last_modified_ms bigint not null,
    record_id bigint not null,
    load_id varchar not null,
    updated_at timestamptz not null default current_timestamp
);

-- staging.placement_changes: one row per placement per page, normalised, before validation
create table staging.placement_changes (
    load_id varchar not null,
    page integer not null,
    placement_id bigint not null,
    candidate_id bigint,
    owner_id bigint,
    owner_first_name varchar,
    owner_last_name varchar,
    owner_email varchar,
    job_title varchar,
    client_name varchar,
    status varchar,
    employment_type varchar,
    employment_class varchar not null,
    is_active boolean not null,
    start_date date,
    end_date date,
    date_added timestamptz,
    date_last_modified timestamptz not null
);

-- staging.candidate_changes: one row per candidate per page, normalised, before validation
create table staging.candidate_changes (
    load_id varchar not null,
    page integer not null,
    candidate_id bigint not null,
    first_name varchar,
    last_name varchar,
    email varchar,
    mobile_raw varchar,
    mobile_e164 varchar,
    phone_raw varchar,
    phone_e164 varchar,
    date_of_birth date,
    country_code varchar,
    time_zone varchar not null,
    email_opt_out boolean not null,
    sms_opt_in boolean not null,
    is_anonymized boolean not null,
    is_deleted boolean not null,
    referred_by_candidate_id bigint,
    date_added timestamptz,
    date_last_modified timestamptz not null
);

create index placement_changes_load on staging.placement_changes (load_id);
create index candidate_changes_load on staging.candidate_changes (load_id);

-- what staging keeps beyond the contract columns
alter table staging.placements add column employment_type varchar;
alter table staging.placements add column owner_first_name varchar;
alter table staging.placements add column owner_last_name varchar;
alter table staging.placements add column owner_email varchar;
alter table staging.placements add column date_added timestamptz;
-- gone from the ATS (found by the weekly sweep): no more touchpoints
alter table staging.placements add column is_deleted boolean not null default false;

alter table staging.candidates add column mobile_raw varchar;
alter table staging.candidates add column phone_raw varchar;
alter table staging.candidates add column country_code varchar;
alter table staging.candidates add column is_deleted boolean not null default false;
alter table staging.candidates add column referred_by_candidate_id bigint;
alter table staging.candidates add column date_added timestamptz;
