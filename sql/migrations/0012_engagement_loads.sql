-- the engagement stage (issue: engagement): where each provider feed was read up to, and the
-- follow-ups made in the ATS for responses

-- engagement.watermarks: one row per feed (sms, email, video, reviews, ats_tasks, referrals);
-- the cursor is the feed's own (an instant, or an opaque provider cursor)
create table engagement.watermarks (
    feed varchar primary key,
    cursor varchar not null,
    updated_at timestamptz not null default current_timestamp
);

-- engagement.actions: one row per follow-up made for a response (a recruiter call task after
-- a negative reply, a note on the candidate after an availability answer), so none is made
-- twice; or refused by the ATS for good (the candidate gone, say): then no id, and the reason
create table engagement.actions (
    response_id varchar primary key,
    action varchar not null check (action in ('call_task', 'note')),
    ats_id bigint,
    failed_reason varchar,
    done_at timestamptz not null default current_timestamp,
    check (ats_id is not null or failed_reason is not null)
);
