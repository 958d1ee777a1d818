{% import "macros.sql" as m with context %}
-- one row per planned touchpoint whose send time has come by :now (the dispatch clock), whose
-- window is still open and whose milestone is not paused (a paused milestone's rows wait, even
-- those in doubt: their look-up may end in a send), with what its message needs, the route it
-- goes out on now (null: consent lost since planning, a marketing opt-out for a milestone of
-- :marketing (a json array of names) included; the next plan decides the row again) and
-- whether the candidate's local time is inside the quiet hours (then it waits). Touchpoints in
-- a batch not yet folded into the ledger are in flight and left out. known_sids: the texts
-- already sent to the number of the row's attempt (else its mobile now) since a day before
-- that attempt (else now), whoever they were for: a look-up of the row's text (Twilio keeps no
-- reference of ours) must not take one of them for its own (two candidate records sharing a
-- number get the same text). video_url: a video platform's page made ahead for the touchpoint.
with open_rows as (
    select
        t.*,
        coalesce(c.time_zone, :zone) as zone
    from aftercare.touchpoints as t
    left join staging.candidates as c on c.candidate_id = t.candidate_id
    where t.status = 'planned'
        and t.send_at <= cast(:now as timestamptz)
        and not {{ m.in_flight('t.touchpoint_id') }}
        and not {{ m.paused('t.milestone') }}
),

consent as (
    select
        o.touchpoint_id,
        {{ m.email_ok('c') }} as email_ok,
        {{ m.sms_ok('c') }} as sms_ok,
        {{ m.phone_ok('c') }} and p.owner_id is not null as phone_ok,
        o.milestone not in {{ m.json_texts('marketing') }} or {{ m.marketing_ok('c') }}
            as purpose_ok
    from open_rows as o
    inner join staging.candidates as c on c.candidate_id = o.candidate_id
    left join staging.placements as p on p.placement_id = o.placement_id
),

known_sms as (
    select
        o.touchpoint_id,
        array_agg(s.provider_message_id order by s.provider_message_id) as sids
    from open_rows as o
    inner join staging.candidates as c on c.candidate_id = o.candidate_id
    inner join aftercare.touchpoints as s
        on s.attempt ->> 'to' = coalesce(o.attempt ->> 'to', c.mobile_e164)
    where s.status = 'sent'
        and s.attempt ->> 'route' = 'sms'
        and s.provider_message_id is not null
        -- the window of the look-up (aftercare.dispatch.providers.Twilio.find)
        and s.sent_at
        >= coalesce(cast(o.attempt ->> 'at' as timestamptz), cast(:now as timestamptz))
        - interval '1 day'
    group by o.touchpoint_id
)

select
    o.touchpoint_id,
    o.milestone,
    o.channel,
    case
        when not k.purpose_ok then null
        when o.channel = 'email' and k.email_ok then 'email'
        when o.channel = 'sms' and k.sms_ok then 'sms'
        when o.channel = 'video' and k.email_ok then 'email'
        when o.channel = 'video' and k.sms_ok then 'sms'
        when o.channel = 'phone' and k.phone_ok then 'phone'
    end as route,
    {{ m.in_quiet_hours(m.local_time('cast(:now as timestamptz)', 'o.zone')) }} as quiet,
    o.candidate_id,
    o.placement_id,
    o.occurrence,
    o.due_date,
    o.window_end,
    o.send_at,
    o.in_doubt,
    o.attempt,
    o.attempts,
    o.zone,
    c.first_name,
    c.last_name,
    c.email,
    c.mobile_e164 as mobile,
    coalesce(c.phone_e164, c.mobile_e164) as phone,
    p.job_title,
    p.client_name,
    p.owner_id,
    n.sids as known_sids,
    -- a video platform's page ready for the touchpoint (none yet: our own page is published)
    cast(null as varchar) as video_url
from open_rows as o
left join consent as k on k.touchpoint_id = o.touchpoint_id
left join staging.candidates as c on c.candidate_id = o.candidate_id
left join staging.placements as p on p.placement_id = o.placement_id
left join known_sms as n on n.touchpoint_id = o.touchpoint_id
-- a row in doubt goes to its batch even past its window: to be looked up (and closed)
where o.window_end >= {{ m.local_day('cast(:now as timestamptz)', 'o.zone') }} or o.in_doubt
order by o.channel, o.send_at, o.touchpoint_id
