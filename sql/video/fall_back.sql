{% import "macros.sql" as m with context %}
-- the video touchpoints of the sendspark milestones (:campaigns, a json object milestone ->
-- campaign) due by :now (planned, their send time come) whose render is not ready: they go out
-- through our own page, and their render row says why (render_not_ready: asked for, not done;
-- render_failed; render_not_requested: never asked for, e.g. no email address). Run before
-- the due touchpoints are batched, so what due.sql sends and what this records agree.
insert into aftercare.video_renders (
    touchpoint_id, candidate_id, milestone, campaign, state, reason, updated_at
)
select
    t.touchpoint_id,
    t.candidate_id,
    t.milestone,
    k.value,
    'fallback',
    case
        when vr.state = 'requested' then 'render_not_ready'
        when vr.state = 'failed' then 'render_failed'
        else 'render_not_requested'
    end,
    cast(:now as timestamptz)
from aftercare.touchpoints as t
inner join {{ m.json_pairs('campaigns') }} as k on k.key = t.milestone
left join aftercare.video_renders as vr on vr.touchpoint_id = t.touchpoint_id
where t.status = 'planned'
    and t.channel = 'video'
    and t.send_at <= cast(:now as timestamptz)
    and (vr.state is null or vr.state in ('requested', 'failed'))
on conflict (touchpoint_id) do update set
    state = excluded.state,
    reason = excluded.reason,
    updated_at = excluded.updated_at
