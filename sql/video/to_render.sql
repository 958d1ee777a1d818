{% import "macros.sql" as m with context %}
-- the video touchpoints of the sendspark milestones (:campaigns, a json object milestone ->
-- campaign) still planned and due by :until, whose render is not asked for yet, or was asked
-- for without an answer (prospect_id null: looked up before it is asked for again), with what
-- the prospect needs; candidates without an email address cannot be prospects (their
-- touchpoints go out through our own page)
select
    t.touchpoint_id,
    t.candidate_id,
    t.milestone,
    k.value as campaign,
    c.first_name,
    c.last_name,
    c.email,
    p.job_title,
    p.client_name,
    vr.state is not null as asked
from aftercare.touchpoints as t
inner join {{ m.json_pairs('campaigns') }} as k on k.key = t.milestone
inner join staging.candidates as c on c.candidate_id = t.candidate_id
left join staging.placements as p on p.placement_id = t.placement_id
left join aftercare.video_renders as vr on vr.touchpoint_id = t.touchpoint_id
where t.status = 'planned'
    and t.channel = 'video'
    and t.send_at <= cast(:until as timestamptz)
    and c.email is not null
    and (vr.state is null or (vr.state = 'requested' and vr.prospect_id is null))
order by t.send_at, t.touchpoint_id
