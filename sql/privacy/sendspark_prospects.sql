{% import "macros.sql" as m with context %}
-- how many Sendspark prospects the candidates :candidate_ids have: one per candidate and
-- campaign a render was asked for in (a prospect is its campaign's, by email). Sendspark's API
-- deletes no prospect: the count tells the erasure's audit what is left to delete there
select count(*) as prospects
from (
    select distinct
        vr.candidate_id,
        vr.campaign
    from aftercare.video_renders as vr
    where cast(vr.candidate_id as varchar) in {{ m.json_texts('candidate_ids') }}
        and vr.requested_at is not null
) as asked
