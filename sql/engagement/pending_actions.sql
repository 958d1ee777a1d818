-- one row per response that asks for a follow-up in the ATS not yet made: a negative reply
-- (a recruiter call task for the placement's owner) and an availability answer (a note on the
-- candidate, so the recruiter sees it)
select
    r.response_id,
    case when r.kind = 'availability' then 'note' else 'call_task' end as action,
    r.candidate_id,
    r.occurred_at,
    r.touchpoint_id,
    r.detail ->> 'answer' as answer,
    t.milestone,
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
    and not exists (select 1 from engagement.actions as a where a.response_id = r.response_id)
order by r.occurred_at, r.response_id
