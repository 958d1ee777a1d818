-- one row per action to make in the ATS not yet made (engagement.actions): for a response that
-- asks for a follow-up, a negative reply (a recruiter call task for the placement's owner) or
-- an availability answer (a note on the candidate, so the recruiter sees it); and, when the
-- ATS notes are on (:notes_since, null when off), a note on the candidate for each touchpoint
-- sent since then but by phone (a call task in the ATS already); and, when :opt_outs_to_ats,
-- each opt-out from email (email, all or marketing: the agency's mass mailings) from the
-- preferences service, written back as the candidate's massMailOptOut
select
    r.response_id as source_id,
    case when r.kind = 'availability' then 'note' else 'call_task' end as action,
    r.candidate_id,
    r.occurred_at,
    r.touchpoint_id,
    r.detail ->> 'answer' as answer,
    t.milestone,
    t.channel,
    t.placement_id,
    p.owner_id
from engagement.responses as r
left join aftercare.touchpoints as t on t.touchpoint_id = r.touchpoint_id
left join staging.placements as p on p.placement_id = t.placement_id
where (
    r.kind = 'availability'
    or (r.kind = 'reply' and r.detail ->> 'sentiment' = 'negative')
)
and p.owner_id is not null
and not exists (
    select 1 from engagement.actions as a
    where a.source_id = r.response_id and a.action in ('call_task', 'note')
)
union all
select
    t.touchpoint_id as source_id,
    'touchpoint_note' as action,
    t.candidate_id,
    t.sent_at as occurred_at,
    t.touchpoint_id,
    null as answer,
    t.milestone,
    t.channel,
    t.placement_id,
    null as owner_id
from aftercare.touchpoints as t
where t.status = 'sent'
    and t.channel <> 'phone'
    and t.sent_at >= cast(:notes_since as timestamptz)
    and not exists (
        select 1 from engagement.actions as a
        where a.source_id = t.touchpoint_id and a.action = 'touchpoint_note'
    )
union all
select
    r.response_id as source_id,
    'mass_mail_opt_out' as action,
    r.candidate_id,
    r.occurred_at,
    r.touchpoint_id,
    null as answer,
    null as milestone,
    null as channel,
    null as placement_id,
    null as owner_id
from engagement.responses as r
where cast(:opt_outs_to_ats as boolean)
    and r.kind = 'opt_out'
    and r.detail ->> 'channel' in ('email', 'all', 'marketing')
    and not exists (
        select 1 from engagement.actions as a
        where a.source_id = r.response_id and a.action = 'mass_mail_opt_out'
    )
order by occurred_at, source_id
