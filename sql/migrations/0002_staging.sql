-- staging.placements: one row per placement, latest version (contract: DESIGN.md)
create table staging.placements (
    placement_id bigint primary key,
    candidate_id bigint not null,
    owner_id bigint,
    job_title varchar,
    client_name varchar,
    employment_class varchar not null
        check (employment_class in ('permanent', 'temp', 'contract')),
    status varchar not null,
    is_active boolean not null,
    start_date date not null,
    end_date date,  -- null for permanent placements
    date_last_modified timestamptz not null,
    load_id varchar not null,
    loaded_at timestamptz not null default current_timestamp,
    check (end_date is null or end_date >= start_date)
);

-- staging.candidates: one row per candidate, latest version (contract: DESIGN.md)
create table staging.candidates (
    candidate_id bigint primary key,
    first_name varchar,
    last_name varchar,
    email varchar,
    mobile_e164 varchar,
    phone_e164 varchar,
    date_of_birth date,
    time_zone varchar,  -- IANA name; null means the agency's
    email_opt_out boolean not null default false,
    sms_opt_in boolean not null default false,
    is_anonymized boolean not null default false,
    date_last_modified timestamptz not null,
    load_id varchar not null,
    loaded_at timestamptz not null default current_timestamp
);
