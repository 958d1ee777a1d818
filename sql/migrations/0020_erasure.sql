-- erasure (issue: consent and privacy): who was erased, so nobody erased is messaged again,
-- even when the ATS sends them back; what each request did; and what each provider was asked
-- to erase, so a retry never asks twice. No names, emails or numbers: hashes, ids and counts.

-- aftercare.erased_subjects: a salted hash (HMAC-SHA256, the salt from the connection
-- aftercare_erasure) of an erased candidate's id, normalised email or E.164 number
create table aftercare.erased_subjects (
    subject_hash varchar primary key,
    kind varchar not null check (kind in ('candidate', 'email', 'phone')),
    erased_at timestamptz not null default current_timestamp
);

-- aftercare.erasure_requests: the audit, one row per request (a trigger with candidate ids, or
-- the candidates the ATS anonymised or deleted): who asked, when, what was done and counted
create table aftercare.erasure_requests (
    request_id varchar primary key,
    requested_by varchar not null,
    source varchar not null check (source in ('request', 'ats')),
    requested_at timestamptz not null,
    candidates integer not null,
    erased integer,
    unknown integer,
    counts {{ types.json }},
    finished_at timestamptz
);

-- aftercare.erasures: each candidate of a request and its outcome (erased, or unknown: no
-- data of that id was held)
create table aftercare.erasures (
    request_id varchar not null,
    candidate_id bigint not null,
    outcome varchar not null check (outcome in ('erased', 'unknown')),
    primary key (request_id, candidate_id)
);

-- aftercare.provider_erasures: what a provider was asked to erase, once: a Twilio message
-- sid, or the hash of an address SendGrid was asked to erase
create table aftercare.provider_erasures (
    provider varchar not null check (provider in ('twilio', 'sendgrid')),
    item varchar not null,
    candidate_id bigint not null,
    asked_at timestamptz not null default current_timestamp,
    primary key (provider, item)
);
