-- aftercare.suppressions: a hard bounce, an unsubscribe or a spam report loaded from :since on
-- (the warehouse's time of loading) suppresses email; a suppression already there stays
insert into aftercare.suppressions (candidate_id, channel, reason, source)
select distinct
    t.candidate_id,
    'email',
    case e.event when 'bounced' then 'email_hard_bounce' when
            'unsubscribed'
            then 'email_unsubscribe'
        else 'email_spam_report'
    end,
    'engagement'
from engagement.delivery_events as e
inner join aftercare.touchpoints as t on t.touchpoint_id = e.touchpoint_id
where e.channel = 'email'
    and e.loaded_at >= cast(:since as timestamptz)
    and (
        (e.event = 'bounced' and e.detail ->> 'bounce_type' = 'hard')
        or e.event in ('unsubscribed', 'spam_report')
    )
on conflict do nothing
