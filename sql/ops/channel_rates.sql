-- per message channel (email, sms, video: not phone call tasks), the touchpoints sent from
-- :since_7 and from :since_30 to :now (by sent_at), and of those the hard-bounced (email: a
-- bounce of type hard; sms: undelivered or failed at the carrier) and the reported as spam
with
sent as (
    select
        t.touchpoint_id,
        t.channel,
        t.sent_at >= cast(:since_7 as timestamptz) as in_7
    from aftercare.touchpoints as t
    where t.status = 'sent' and t.channel in ('email', 'sms', 'video')
        and t.sent_at >= cast(:since_30 as timestamptz)
        and t.sent_at < cast(:now as timestamptz)
),

troubles as (
    select
        e.touchpoint_id,
        bool_or(
            (e.event = 'bounced' and e.detail ->> 'bounce_type' = 'hard')
            or e.event in ('undelivered', 'failed')
        ) as hard_bounced,
        bool_or(e.event = 'spam_report') as complained
    from engagement.delivery_events as e
    where e.event in ('bounced', 'undelivered', 'failed', 'spam_report')
        and e.event_at >= cast(:since_30 as timestamptz)
    group by e.touchpoint_id
)

select
    s.channel,
    count(*) filter (where s.in_7) as sent_7,
    count(*) filter (where s.in_7 and x.hard_bounced) as hard_bounces_7,
    count(*) filter (where s.in_7 and x.complained) as complaints_7,
    count(*) as sent_30,
    count(*) filter (where x.hard_bounced) as hard_bounces_30,
    count(*) filter (where x.complained) as complaints_30
from sent as s
left join troubles as x on x.touchpoint_id = s.touchpoint_id
group by s.channel
order by s.channel
