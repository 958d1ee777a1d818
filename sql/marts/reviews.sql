{% import "macros.sql" as m with context %}
{% import "marts/_attribution.sql" as a %}
-- marts.reviews: one row per review (engagement.responses of kind 'review'), with the
-- touchpoint it is attributed to (milestone, channel, sent_at), its placement and recruiter
-- (the placement's owner_id). A review whose touchpoint has no placement (a birthday) or that
-- has no touchpoint takes the candidate's latest placement (placement_source says which).
drop table if exists marts.reviews;

create table marts.reviews as
with reviews as (
    select
        response_id,
        candidate_id,
        touchpoint_id,
        occurred_at,
        cast(detail ->> 'stars' as integer) as stars,
        detail ->> 'review_id' as review_id
    from engagement.responses
    where kind = 'review'
),

{{ a.attributed('reviews', 'candidate_id') }}

select
    a.response_id,
    cast(a.review_id as varchar) as review_id,
    a.candidate_id,
    a.placement_id,
    a.placement_source,
    p.owner_id as recruiter_id,
    a.touchpoint_id,
    a.milestone,
    a.channel,
    a.stars,
    a.sent_at,
    a.occurred_at as reviewed_at,
    {{ m.local_day('a.occurred_at', "'UTC'") }} as reviewed_on,
    cast(
        floor((extract(epoch from a.occurred_at) - extract(epoch from a.sent_at)) / 86400)
        as integer
    ) as days_to_review
from attributed as a
left join staging.placements as p on p.placement_id = a.placement_id;
