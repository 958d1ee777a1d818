-- example: one row per message channel (email, sms, video) that sent anything: touchpoints
-- sent, delivered and undelivered (bounced, failed at the carrier), and the delivery rate
-- (from marts.touchpoint_funnel; phone call tasks are not delivered, see calls_done)
with sends as (
    select
        channel,
        sum(sent) as sent,
        sum(delivered) as delivered,
        sum(undelivered) as undelivered
    from marts.touchpoint_funnel
    where channel in ('email', 'sms', 'video')
    group by channel
)

select
    channel,
    cast(sent as bigint) as sent,
    cast(delivered as bigint) as delivered,
    cast(undelivered as bigint) as undelivered,
    cast(100.0 * delivered / sent as decimal(6, 1)) as delivery_rate_pct
from sends
where sent > 0
order by channel
