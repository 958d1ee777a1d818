-- the candidate's responses (reviews, referrals made, replies, answers, opt-outs), the latest
-- first
select
    r.response_id,
    r.kind,
    r.occurred_at,
    r.touchpoint_id,
    cast(r.detail as varchar) as detail
from engagement.responses as r
where r.candidate_id = :candidate_id
order by r.occurred_at desc, r.response_id desc
