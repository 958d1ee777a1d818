{% import "macros.sql" as m with context %}
{% import "marts/_attribution.sql" as a %}
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

{{ a.attributed('referrals', 'referrer_candidate_id') }}

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
