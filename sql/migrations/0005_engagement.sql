-- engagement.delivery_events: one row per provider event; event_id is the provider's own id,
-- so replaying a provider feed adds nothing twice (contract: DESIGN.md)
create table engagement.delivery_events (
    event_id varchar primary key,
    touchpoint_id varchar,
    channel varchar not null,
    provider_message_id varchar,
    event varchar not null,
    event_at timestamptz not null,
    detail {{ types.json }},
    loaded_at timestamptz not null default current_timestamp
);

-- engagement.responses: one row per response (contract: DESIGN.md)
create table engagement.responses (
    response_id varchar primary key,
    candidate_id bigint not null,
    kind varchar not null
        check (kind in ('review', 'referral', 'reply', 'availability', 'opt_out')),
    occurred_at timestamptz not null,
    touchpoint_id varchar,  -- attributed touchpoint, may be null
    detail {{ types.json }},
    loaded_at timestamptz not null default current_timestamp
);
