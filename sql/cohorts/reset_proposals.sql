-- plan_proposals: one row per milestone occurrence the current run decided; a temporary
-- table (this session's only, never in the WAL), made afresh before each run decides into it
-- (emptying it instead leaves the last run's deleted rows and keys to clean up at commit)
drop table if exists plan_proposals;

create temp table plan_proposals (
    touchpoint_id varchar primary key,
    milestone varchar not null,
    placement_id bigint,
    candidate_id bigint not null,
    occurrence integer not null,
    channel varchar,
    due_date date not null,
    window_end date not null,
    send_at timestamptz,
    status varchar not null,
    reason varchar,
    -- kept from the ledger row it replaces
    planned_at timestamptz not null,
    attempts integer not null,
    provider_message_id varchar,
    -- new to the ledger (else one of its planned rows)
    is_new boolean not null
)
