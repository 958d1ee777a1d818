{% import "macros.sql" as m with context %}
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

-- each candidate's placements, the latest (by start date) first
ranked_placements as (
    select
        candidate_id,
        placement_id,
        row_number() over (
            partition by candidate_id order by start_date desc, placement_id desc
        ) as placement_rank
    from staging.placements
),

attributed as (
    select
        r.*,
        t.milestone,
        t.channel,
        t.sent_at,
        coalesce(t.placement_id, lp.placement_id) as placement_id,
        case
            when t.placement_id is not null then 'touchpoint'
            when lp.placement_id is not null then 'latest_placement'
        end as placement_source
    from reviews as r
    left join aftercare.touchpoints as t on t.touchpoint_id = r.touchpoint_id
    left join ranked_placements as lp
        on lp.candidate_id = r.candidate_id and lp.placement_rank = 1
)

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
