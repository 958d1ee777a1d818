{% import "macros.sql" as m with context %}
-- engagement.responses: candidates added in the ATS as referred by one of ours (:referrals, a
-- json array of {referred_candidate_id, referrer_id, occurred_at}), one referral each,
-- attributed to the latest touchpoint sent to the referrer in the :window_days before it:
-- one whose referral link the referrer clicked before the referral first (the preferences
-- service's referral_click events), then a referral ask (null when none: the referral still
-- counts for the referrer)
with referrals as (
    select
        cast(value ->> 'referred_candidate_id' as bigint) as referred_candidate_id,
        cast(value ->> 'referrer_id' as bigint) as referrer_id,
        cast(value ->> 'occurred_at' as timestamptz) as occurred_at
    from {{ m.json_rows('referrals') }}
)

insert into engagement.responses (
    response_id, candidate_id, kind, occurred_at, touchpoint_id, detail
)
select
    'referral:' || cast(r.referred_candidate_id as varchar),
    r.referrer_id,
    'referral',
    r.occurred_at,
    (
        select t.touchpoint_id
        from aftercare.touchpoints as t
        where t.candidate_id = r.referrer_id
            and t.status = 'sent'
            and t.sent_at <= r.occurred_at
            and t.sent_at > r.occurred_at - cast(:window_days as integer) * interval '1 day'
        order by
            exists (
                select 1
                from engagement.delivery_events as e
                where e.touchpoint_id = t.touchpoint_id
                    and e.event = 'referral_click'
                    and e.event_at <= r.occurred_at
            ) desc,
            t.milestone = 'referral_ask' desc,
            t.sent_at desc,
            t.touchpoint_id asc
        limit 1
    ),
    {{ m.json_object(
        ["'referred_candidate_id'", 'r.referred_candidate_id', "'converted'", 'false']
    ) }}
from referrals as r
where exists (select 1 from staging.candidates as c where c.candidate_id = r.referrer_id)
on conflict (response_id) do nothing
