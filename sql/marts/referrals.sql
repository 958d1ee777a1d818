{% import "macros.sql" as m with context %}
-- marts.referrals: one row per referral (engagement.responses of kind 'referral'): the
-- referrer, the referred candidate, the touchpoint it is attributed to (milestone, channel,
-- sent_at), whether the referred candidate was placed (converted, converted_placement_id), and
-- the recruiter (owner_id) of the referrer's placement: the touchpoint's, else the referrer's
-- latest placement (placement_source says which).
drop table if exists marts.referrals;

create table marts.referrals as
with referrals as (
    select
        response_id,
        candidate_id as referrer_candidate_id,
        cast(detail ->> 'referred_candidate_id' as bigint) as referred_candidate_id,
        coalesce(cast(detail ->> 'converted' as boolean), false) as converted,
        cast(detail ->> 'placement_id' as bigint) as converted_placement_id,
        touchpoint_id,
        occurred_at
    from engagement.responses
    where kind = 'referral'
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
    from referrals as r
    left join aftercare.touchpoints as t on t.touchpoint_id = r.touchpoint_id
    left join ranked_placements as lp
        on lp.candidate_id = r.referrer_candidate_id and lp.placement_rank = 1
)

select
    a.response_id,
    a.referrer_candidate_id,
    a.referred_candidate_id,
    a.placement_id,
    a.placement_source,
    p.owner_id as recruiter_id,
    a.touchpoint_id,
    a.milestone,
    a.channel,
    a.sent_at,
    a.occurred_at as referred_at,
    {{ m.local_day('a.occurred_at', "'UTC'") }} as referred_on,
    a.converted,
    a.converted_placement_id
from attributed as a
left join staging.placements as p on p.placement_id = a.placement_id;
