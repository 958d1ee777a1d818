-- the dispatch stage (issue: dispatch): what the ledger needs to send exactly once

-- a send that may have reached the provider without our knowing (a killed task, a timeout
-- after the request left): the next try looks it up at the provider before sending again
alter table aftercare.touchpoints add column in_doubt boolean not null default false;

-- the last try: {"route", "at", "links", "body_sha256"}: the route and instant it went out on,
-- the links it carried (video share, review invitation: made once, reused by a later try) and
-- the hash of an sms body, by which an unconfirmed send is found at the provider
alter table aftercare.touchpoints add column attempt {{ types.json }};

-- aftercare.dispatch_batches: one row per batch file a dispatch run wrote. Until its journal is
-- folded into the ledger (recorded_at), its touchpoints are in flight: no other batch takes
-- them, and the next run folds the journal first.
create table aftercare.dispatch_batches (
    batch_id varchar primary key,
    run_id varchar not null,
    channel varchar not null,
    path varchar not null,
    touchpoints integer not null,
    dry_run boolean not null,
    created_at timestamptz not null default current_timestamp,
    recorded_at timestamptz,
    -- the journal's outcomes, counted when folded: {"sent": n, "failed": n, ...}
    outcomes {{ types.json }}
);

-- aftercare.dispatch_items: which touchpoint is in which batch (the in-flight guard)
create table aftercare.dispatch_items (
    batch_id varchar not null,
    touchpoint_id varchar not null,
    primary key (batch_id, touchpoint_id)
);
