-- aftercare.touchpoints, the ledger: one row per milestone occurrence (contract: DESIGN.md).
-- touchpoint_id is deterministic (milestone, subject id, occurrence), so replanning a day
-- finds the same rows instead of adding new ones.
create table aftercare.touchpoints (
    touchpoint_id varchar primary key,
    milestone varchar not null,
    placement_id bigint,  -- null for candidate milestones (birthday)
    candidate_id bigint not null,
    occurrence integer not null,
    channel varchar,
    due_date date not null,
    send_at timestamptz,
    status varchar not null
        check (status in ('planned', 'sent', 'failed', 'suppressed', 'cancelled', 'expired')),
    reason varchar,
    provider_message_id varchar,
    attempts integer not null default 0,
    planned_at timestamptz not null default current_timestamp,
    sent_at timestamptz,
    updated_at timestamptz not null default current_timestamp,
    -- every status but planned and sent carries a reason code
    check (status in ('planned', 'sent') or reason is not null)
);

-- aftercare.suppressions: one row per candidate and channel that must not be contacted
create table aftercare.suppressions (
    candidate_id bigint not null,
    channel varchar not null check (channel in ('email', 'sms', 'all')),
    reason varchar not null,
    source varchar not null,
    created_at timestamptz not null default current_timestamp,
    primary key (candidate_id, channel)
);
