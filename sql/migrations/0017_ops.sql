-- the ops console's actions (issue: Ops console): what operators asked for, applied by the
-- aftercare_ops DAG's warehouse task (never by the web process), and the state they leave

-- aftercare.ops_actions: one row per action an operator asked for, as applied; action_id is the
-- aftercare_ops dag run that applied it, so a retried or re-run task applies nothing twice
create table aftercare.ops_actions (
    action_id varchar primary key,
    kind varchar not null check (kind in ('pause', 'resume', 'rejudge')),
    -- a milestone name (pause, resume); 'record:<entity>/<record_id>/<load_id>' or
    -- 'reason:<expectation>[/<column>]' (rejudge)
    target varchar not null,
    comment varchar not null,
    requested_by varchar not null,  -- the Airflow user name
    requested_at timestamptz not null,
    applied_at timestamptz not null default current_timestamp,
    result {{ types.json }} not null  -- counts, e.g. {"rows": 3}
);

-- aftercare.milestone_pauses: one row per paused milestone (resume deletes it). Dispatch
-- batches none of its touchpoints; those whose window passes meanwhile expire
-- (milestone_paused)
create table aftercare.milestone_pauses (
    milestone varchar primary key,
    paused_by varchar not null,
    paused_at timestamptz not null,
    comment varchar not null,
    action_id varchar not null
);

-- quality.quarantine: "judge again on the next run". rejudge_requested_at is set on open rows
-- by a rejudge action; the next validation judges the record's version of that load again and
-- clears it (rejudged_at set instead); the stage step then stages the versions so released and
-- clears rejudged_at
alter table quality.quarantine add column rejudge_requested_at timestamptz;
alter table quality.quarantine add column rejudged_at timestamptz;
