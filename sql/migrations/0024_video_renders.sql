-- Sendspark (issue: personalised video): each render requested ahead for a video touchpoint of a
-- milestone whose video has platform sendspark, and what became of it. requested: the prospect
-- was asked for (prospect_id null: the answer was lost, so it is looked up by email before it
-- is asked for again); ready: rendered, share_url is its link; failed: Sendspark could not
-- render it; fallback: not ready when the touchpoint was due, so it went out through our own
-- page (reason: render_not_ready, render_failed, render_not_requested). No names or addresses.
create table aftercare.video_renders (
    touchpoint_id varchar primary key,
    candidate_id bigint not null,
    milestone varchar not null,
    campaign varchar not null,
    prospect_id varchar,
    state varchar not null check (state in ('requested', 'ready', 'failed', 'fallback')),
    share_url varchar,
    reason varchar,
    requested_at timestamptz,
    ready_at timestamptz,
    updated_at timestamptz not null default current_timestamp
);
