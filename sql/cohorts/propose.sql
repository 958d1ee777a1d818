{% import "macros.sql" as m with context %}
-- plan_proposals: one row per milestone occurrence that the run for local date
-- :plan_date decides, with the status and reason it decides:
--   planned     due, inside its window, a channel, within the cap: send_at on :plan_date (or
--               on the day after, when the cap defers it and its window allows; or on its due
--               date when that is still ahead, a planned row whose date moved; weekday-only
--               milestones never on a weekend)
--   expired     missed_window: its window closed unsent (due within :look_back days)
--   suppressed  quarantined (a newer version of the candidate or placement failed the gate),
--               candidate_removed, recently_sent, negative_reply, no_eligible_channel,
--               frequency_cap
--   cancelled   next_placement: the candidate is placed again within reach of the end;
--               placement_changed: a planned row whose due date moved out of reach, or whose
--               occurrence is no longer due while its placement runs on;
--               placement_ended: a planned row whose placement ended (or went) before it
-- The milestones are config (:milestones, their :channels in order, their employment
-- :classes); local dates and times are the candidate's (else the agency's :zone).
-- After a run for :last_plan_date (same settings and SQL) that saw staging up to :since, only
-- what can have changed is looked at again: subjects whose occurrences fall due after that
-- date, subjects staged since, and the subjects of the ledger's planned rows; every other
-- occurrence in reach was decided by an earlier run (it is in the ledger) or could not concern
-- it then or now. A run without them (the first, new settings or SQL, a full refresh) looks at
-- every subject in reach.
{#- whether the yearly anniversaries of date `anchor` can fall near date `target`: their days
    of the year lie within `reach` days of each other, with days to spare for leap years and
    weekend moves (a cheap superset test on every subject; the exact dates are worked out
    after it) -#}
{% macro near_in_year(anchor, target, reach) -%}
least(
    abs(extract(doy from {{ anchor }}) - extract(doy from {{ target }})),
    366 - abs(extract(doy from {{ anchor }}) - extract(doy from {{ target }}))
) <= {{ reach }} + 4
{%- endmacro %}
{#- date expression `day`, moved to the Monday when it falls on a weekend and `weekdays_only`
    (a boolean expression) holds -#}
{% macro weekday_on_or_after(day, weekdays_only) -%}
case
    when {{ weekdays_only }} and extract(isodow from {{ day }}) >= 6
        then {{ day }} + cast(8 - extract(isodow from {{ day }}) as integer)
    else {{ day }}
end
{%- endmacro %}
{#- the deterministic id of an occurrence (columns of `alias`): milestone, subject, number -#}
{% macro touchpoint_id(alias) -%}
{{ alias }}.milestone || ':' || case
    when {{ alias }}.placement_id is null
        then 'candidate:' || cast({{ alias }}.candidate_id as varchar)
    else 'placement:' || cast({{ alias }}.placement_id as varchar)
end || ':' || cast(cast({{ alias }}.occurrence as integer) as varchar)
{%- endmacro %}
{#- the places in the milestone's list (channel_ranks `r`) of the channels the candidate
    (candidates `c`) may be reached on for subject `h`: video goes out by email, else by sms;
    phone needs the placement's owner; the first eligible channel has the least -#}
{% macro eligible_ranks() -%}
case when c.email_ok then r.email end,
    case when c.sms_ok then r.sms end,
    case when c.email_ok or c.sms_ok then r.video end,
    case when c.phone_ok and h.owner_id is not null then r.phone end
{%- endmacro %}
insert into plan_proposals (
    touchpoint_id, milestone, placement_id, candidate_id, occurrence, channel, due_date,
    window_end, send_at, status, reason, planned_at, attempts, provider_message_id, is_new
)
with
-- full_reach: the days back an occurrence can concern the plan date from (its window or the
-- look-back); reach: the days back one can be new to this run (since :last_plan_date)
milestones as (
    select
        ms.*,
        cast(least(
            ms.full_reach,
            coalesce(cast(:plan_date as date) - cast(:last_plan_date as date), ms.full_reach)
        ) as integer) as reach
    from (
        select
            r.value ->> 'name' as milestone,
            r.value ->> 'subject' as subject,
            r.value ->> 'anchor' as anchor,
            cast(r.value ->> 'offset_days' as integer) as offset_days,
            r.value ->> 'repeat' as repeat_rule,
            r.value ->> 'occurrence' as occurrence_rule,
            cast(r.value ->> 'first_occurrence' as integer) as first_occurrence,
            cast(r.value ->> 'window_days' as integer) as window_days,
            cast(r.value ->> 'window_ends_by_anchor' as boolean) as window_ends_by_anchor,
            cast(r.value ->> 'send_time' as time) as send_time,
            cast(r.value ->> 'weekdays_only' as boolean) as weekdays_only,
            cast(r.value ->> 'cap_exempt' as boolean) as cap_exempt,
            cast(r.value ->> 'not_within_days' as integer) as not_within_days,
            cast(r.value ->> 'blocked_by_negative_reply' as boolean) as blocked_by_negative_reply,
            cast(r.value ->> 'no_next_placement_within_days' as integer) as next_placement_days,
            cast(r.value ->> 'recent_placement_days' as integer) as recent_placement_days,
            cast(r.value ->> 'priority' as integer) as priority,
            greatest(cast(r.value ->> 'window_days' as integer), :look_back) as full_reach
        from {{ m.json_rows('milestones') }} as r
    ) as ms
),

milestone_channels as (
    select
        r.value ->> 'milestone' as milestone,
        r.value ->> 'channel' as channel,
        cast(r.value ->> 'rank' as integer) as channel_rank
    from {{ m.json_rows('channels') }} as r
),

milestone_classes as (
    select r.value ->> 'milestone' as milestone, r.value ->> 'class' as employment_class
    from {{ m.json_rows('classes') }} as r
),

plan_day as (
    select cast(:plan_date as date) as d
),

-- the ledger's rows still open (a planned row is decided again whatever its due date now)
open_ledger as (
    select
        touchpoint_id,
        due_date,
        planned_at,
        attempts,
        provider_message_id,
        milestone,
        coalesce(placement_id, candidate_id) as subject_id
    from aftercare.touchpoints
    where status = 'planned' and coalesce(plan_date, cast(:plan_date as date)) <= cast(:plan_date as date)
),

-- yearly milestones: this year's occurrence and last year's (a window or the look-back may
-- reach back over New Year)
years_back as (
    select 0 as back
    union all
    select 1
),

-- the years back in which a yearly milestone's anniversary (plus its offset) can fall within
-- its window or the look-back of the plan date (a weekend move of up to two days included):
-- last year's only in the first days of the year
year_reach as (
    select ms.milestone, y.back
    from milestones as ms
    cross join years_back as y
    cross join plan_day as p
    where ms.repeat_rule = 'yearly'
        and extract(year from p.d) - y.back
        between extract(year from p.d - ms.offset_days - ms.full_reach - 2)
        and extract(year from p.d - ms.offset_days)
),

-- once-milestones: the anchor dates whose occurrence can concern the plan date (due by it,
-- inside the window or the look-back, a weekend move of up to two days included), and from
-- which on one can be new to this run
anchor_ranges as (
    select
        ms.milestone,
        ms.anchor,
        p.d - ms.offset_days - ms.full_reach - 2 as earliest,
        p.d - ms.offset_days - ms.reach - 2 as recent,
        p.d - ms.offset_days as latest
    from milestones as ms
    cross join plan_day as p
    where ms.repeat_rule = 'once' and ms.subject = 'placement'
),

-- the subjects looked at over the whole reach of a milestone, not only for what fell due
-- since the last run: the ones staged since it saw staging (for a candidate milestone, the
-- candidate or one of their placements), and the subjects of the ledger's planned rows
full_subjects as (
    select ms.milestone, p.placement_id as subject_id
    from milestones as ms
    inner join staging.placements as p on ms.subject = 'placement'
    where p.loaded_at >= cast(:since as timestamptz)
    union
    select ms.milestone, c.candidate_id
    from milestones as ms
    inner join staging.candidates as c on ms.subject = 'candidate'
    where c.loaded_at >= cast(:since as timestamptz)
    union
    select ms.milestone, p.candidate_id
    from milestones as ms
    inner join staging.placements as p on ms.subject = 'candidate'
    where p.loaded_at >= cast(:since as timestamptz)
    union
    select milestone, subject_id
    from open_ledger
),

-- one row per milestone and subject (and year back, for yearly ones) worth deciding, with
-- its anchor date and the placement's columns planning reads (so that nothing below joins the
-- placements again): once-milestones by range (a range join, not a scan per milestone), yearly
-- ones for every subject near in the year, in the years whose anniversary can concern the plan
-- date (each within its reach, or its full reach when looked at in full), and the subjects of
-- the ledger's planned rows wherever they moved (from_ledger: `near` keeps those only when they
-- moved away, so no occurrence comes twice)
subject_anchors as (
    select
        r.milestone, p.placement_id, p.candidate_id, p.start_date as anchor_date, 0 as back,
        p.employment_class, p.is_active, p.end_date as placement_end, p.owner_id,
        false as from_ledger
    from anchor_ranges as r
    inner join staging.placements as p on p.start_date between r.earliest and r.latest
    left join full_subjects as f on f.milestone = r.milestone and f.subject_id = p.placement_id
    where r.anchor = 'start_date' and not p.is_deleted
        and (p.start_date >= r.recent or f.subject_id is not null)
    union all
    select
        r.milestone, p.placement_id, p.candidate_id, p.end_date, 0,
        p.employment_class, p.is_active, p.end_date as placement_end, p.owner_id, false
    from anchor_ranges as r
    inner join staging.placements as p on p.end_date between r.earliest and r.latest
    left join full_subjects as f on f.milestone = r.milestone and f.subject_id = p.placement_id
    where r.anchor = 'end_date' and not p.is_deleted
        and (p.end_date >= r.recent or f.subject_id is not null)
    union all
    select
        a.milestone, a.placement_id, a.candidate_id, a.start_date, y.back,
        a.employment_class, a.is_active, a.placement_end, a.owner_id, false
    from (
        select
            ms.milestone, p.placement_id, p.candidate_id, p.start_date,
            p.employment_class, p.is_active, p.end_date as placement_end, p.owner_id
        from milestones as ms
        inner join staging.placements as p
            on ms.repeat_rule = 'yearly' and ms.subject = 'placement'
        cross join plan_day as pd
        where ms.anchor = 'start_date' and not p.is_deleted
            and {{ near_in_year('p.start_date', 'pd.d - ms.offset_days', 'ms.full_reach') }}
    ) as a
    inner join milestones as ms on ms.milestone = a.milestone
    cross join plan_day as pd
    left join full_subjects as f on f.milestone = a.milestone and f.subject_id = a.placement_id
    inner join year_reach as y on y.milestone = a.milestone
    where {{ near_in_year('a.start_date', 'pd.d - ms.offset_days', 'ms.reach') }}
        or f.subject_id is not null
    union all
    select
        a.*, y.back,
        cast(null as varchar), cast(null as boolean), cast(null as date), cast(null as bigint),
        false
    from (
        select ms.milestone, cast(null as bigint), c.candidate_id, c.date_of_birth
        from milestones as ms
        inner join staging.candidates as c on ms.subject = 'candidate'
        cross join plan_day as pd
        where c.date_of_birth is not null
            and {{ near_in_year('c.date_of_birth', 'pd.d - ms.offset_days', 'ms.full_reach') }}
    ) as a
    inner join milestones as ms on ms.milestone = a.milestone
    cross join plan_day as pd
    left join full_subjects as f on f.milestone = a.milestone and f.subject_id = a.candidate_id
    inner join year_reach as y on y.milestone = a.milestone
    where {{ near_in_year('a.date_of_birth', 'pd.d - ms.offset_days', 'ms.reach') }}
        or f.subject_id is not null
    union all
    select
        ms.milestone,
        p.placement_id,
        p.candidate_id,
        case ms.anchor when 'start_date' then p.start_date when 'end_date' then p.end_date end,
        y.back,
        p.employment_class, p.is_active, p.end_date as placement_end, p.owner_id, true
    from open_ledger as o
    inner join milestones as ms on ms.milestone = o.milestone and ms.subject = 'placement'
    inner join staging.placements as p on p.placement_id = o.subject_id
    inner join years_back as y on ms.repeat_rule = 'yearly' or y.back = 0
    where not p.is_deleted
),

-- milestones for some employment classes only keep those
anchors as (
    select a.*
    from subject_anchors as a
    where a.anchor_date is not null
        and (
            not exists (select 1 from milestone_classes as k where k.milestone = a.milestone)
            or exists (
                select 1
                from milestone_classes as k
                where k.milestone = a.milestone and k.employment_class = a.employment_class
            )
        )
),

-- the occurrence number and the date it falls due before any weekend move
nominal as (
    select
        a.milestone,
        a.placement_id,
        a.candidate_id,
        a.anchor_date,
        a.employment_class,
        a.is_active,
        a.placement_end,
        a.owner_id,
        a.from_ledger,
        case
            when ms.repeat_rule = 'once' then 1
            when ms.occurrence_rule = 'calendar_year' then extract(year from p.d) - a.back
            else extract(year from p.d) - extract(year from a.anchor_date) - a.back
        end as occurrence
    from anchors as a
    inner join milestones as ms on ms.milestone = a.milestone
    cross join plan_day as p
),

occurrences as (
    select
        n.*,
        case
            when ms.repeat_rule = 'once' then n.anchor_date + ms.offset_days
            when ms.occurrence_rule = 'calendar_year'
                then {{ m.add_years('n.anchor_date', 'n.occurrence - extract(year from n.anchor_date)') }}
                    + ms.offset_days
            else {{ m.add_years('n.anchor_date', 'n.occurrence') }} + ms.offset_days
        end as nominal_due
    from nominal as n
    inner join milestones as ms on ms.milestone = n.milestone
    where ms.repeat_rule = 'once' or n.occurrence >= ms.first_occurrence
),

-- only what can concern the plan date (a weekend moves a due date by up to two days), and
-- the ledger's planned rows: the branches above find every occurrence near the plan date, the
-- ledger's branch adds the ones that moved away (once: a subject may have two planned rows)
near as (
    select o.*
    from occurrences as o
    inner join milestones as ms on ms.milestone = o.milestone
    cross join plan_day as p
    where not o.from_ledger
        and o.nominal_due between p.d - ms.full_reach - 2 and p.d
    union all
    select distinct o.*
    from occurrences as o
    inner join milestones as ms on ms.milestone = o.milestone
    cross join plan_day as p
    where o.from_ledger
        and o.nominal_due not between p.d - ms.full_reach - 2 and p.d
        and {{ touchpoint_id('o') }} in (select touchpoint_id from open_ledger)
),

-- weekend due dates move to the Monday; the window counts from there
dated as (
    select
        o.milestone,
        o.placement_id,
        o.candidate_id,
        cast(o.occurrence as integer) as occurrence,
        o.anchor_date,
        o.is_active,
        o.placement_end,
        o.owner_id,
        {{ touchpoint_id('o') }} as touchpoint_id,
        {{ weekday_on_or_after('o.nominal_due', 'ms.weekdays_only') }} as due_date
    from near as o
    inner join milestones as ms on ms.milestone = o.milestone
),

windowed as (
    select
        dd.*,
        case
            when ms.window_ends_by_anchor
                then least(dd.due_date + ms.window_days, dd.anchor_date)
            else dd.due_date + ms.window_days
        end as window_end
    from dated as dd
    inner join milestones as ms on ms.milestone = dd.milestone
),

-- the ledger's rows this run must leave alone (final rows, and rows a later run decided) of
-- the subjects and candidates it decides: the occurrences already settled, and the sends that
-- count against a candidate. One pass over a ledger that grows by millions of rows over the
-- years, by its integer columns (its ids are never read: text is what costs in a scan); an
-- occurrence is matched by milestone, subject (kind and id) and number, as its id is made
settled_ledger as (
    select
        t.milestone,
        coalesce(t.placement_id, t.candidate_id) as subject_id,
        t.occurrence,
        t.placement_id,
        t.candidate_id,
        t.status,
        t.sent_at
    from aftercare.touchpoints as t
    where (t.status <> 'planned' or t.plan_date > cast(:plan_date as date))
        and (
            coalesce(t.placement_id, t.candidate_id)
            in (select coalesce(w.placement_id, w.candidate_id) from windowed as w)
            or t.candidate_id in (select w.candidate_id from windowed as w)
        )
),

-- what this run decides: due by the plan date and still open, or missed within the look-back;
-- and every planned row of the ledger, wherever its due date moved
relevant as (
    select w.*
    from windowed as w
    cross join plan_day as p
    where (
        (w.due_date <= p.d and (w.window_end >= p.d or w.due_date >= p.d - :look_back))
        or exists (select 1 from open_ledger as o where o.touchpoint_id = w.touchpoint_id)
    )
        and not exists (
            select 1
            from settled_ledger as s
            where s.milestone = w.milestone
                and s.subject_id = coalesce(w.placement_id, w.candidate_id)
                and (s.placement_id is null) = (w.placement_id is null)
                and s.occurrence = w.occurrence
        )
),

-- the subject must still hold: placement active on the due date; a candidate milestone needs a
-- placement begun by that day and active then or ended within recent_placement_days. A
-- placement ended on its end date once that date has passed; one in a non-active status
-- (terminated, completed, ...) whose end date is missing or still ahead ended on the day the
-- ATS last modified it; one that ended before it began never counts. The same for every
-- employment type.
subject_holds as (
    select r.*
    from relevant as r
    inner join milestones as ms on ms.milestone = r.milestone
    where (
        ms.subject = 'placement'
        and r.is_active
        and (r.placement_end is null or r.placement_end >= r.due_date)
    ) or (
        ms.subject = 'candidate'
        and exists (
            select 1
            from staging.placements as q
            where q.candidate_id = r.candidate_id
                and not q.is_deleted
                and q.start_date <= r.due_date
                and coalesce(
                    case
                        when q.end_date < r.due_date then q.end_date
                        when not q.is_active
                            then {{ m.local_day('q.date_last_modified', ':zone') }}
                    end,
                    r.due_date
                ) >= greatest(q.start_date, r.due_date - ms.recent_placement_days)
        )
    )
),

-- each candidate's zone and the channels they may be reached on (none once anonymised or
-- deleted in the ATS)
candidates as (
    select
        c.candidate_id,
        coalesce(c.time_zone, :zone) as zone,
        c.is_anonymized or c.is_deleted as removed,
        -- a newer version in quarantine may carry an opt-out or an anonymisation: nothing
        -- goes out on the staged one until a valid version arrives
        {{ m.quarantined('candidate', 'c.candidate_id') }} as quarantined,
        {{ m.email_ok('c') }} as email_ok,
        {{ m.sms_ok('c') }} as sms_ok,
        {{ m.phone_ok('c') }} as phone_ok
    from staging.candidates as c
    where c.candidate_id in (select candidate_id from subject_holds)
),

-- where each milestone lists each channel (its first place; null when not listed)
channel_ranks as (
    select
        milestone,
        min(case when channel = 'email' then channel_rank end) as email,
        min(case when channel = 'sms' then channel_rank end) as sms,
        min(case when channel = 'video' then channel_rank end) as video,
        min(case when channel = 'phone' then channel_rank end) as phone
    from milestone_channels
    group by milestone
),

-- the first verdict that applies, in this order
judged as (
    select
        h.*,
        coalesce(c.zone, :zone) as zone,
        case least({{ eligible_ranks() }})
            when r.email then 'email'
            when r.sms then 'sms'
            when r.video then 'video'
            when r.phone then 'phone'
        end as channel,
        ms.cap_exempt,
        ms.not_within_days,
        ms.weekdays_only,
        ms.priority,
        ms.send_time,
        case
            -- the gate stages a placement only with a known candidate: a missing one was
            -- quarantined on its first load
            when c.candidate_id is null or c.quarantined then 'suppressed:quarantined'
            when h.placement_id is not null and {{ m.quarantined('placement', 'h.placement_id') }}
                then 'suppressed:quarantined'
            when c.removed then 'suppressed:candidate_removed'
            when ms.next_placement_days is not null and exists (
                select 1
                from staging.placements as q
                where q.candidate_id = h.candidate_id
                    and q.placement_id <> h.placement_id
                    and not q.is_deleted
                    -- within the days either side of the end: a next job already begun counts
                    and q.start_date between h.anchor_date - ms.next_placement_days
                    and h.anchor_date + ms.next_placement_days
            ) then 'cancelled:next_placement'
            when ms.not_within_days is not null and exists (
                select 1
                from settled_ledger as t
                where t.candidate_id = h.candidate_id
                    and t.milestone = h.milestone
                    -- another occurrence (not by id: see settled_ledger)
                    and (
                        t.occurrence <> h.occurrence
                        or t.placement_id is distinct from h.placement_id
                    )
                    and t.status = 'sent'
                    and {{ m.local_day('t.sent_at', 'c.zone') }} > h.due_date - ms.not_within_days
            ) then 'suppressed:recently_sent'
            when ms.blocked_by_negative_reply and exists (
                select 1
                from engagement.responses as r
                inner join aftercare.touchpoints as t on t.touchpoint_id = r.touchpoint_id
                where r.kind = 'reply'
                    and r.detail ->> 'sentiment' = 'negative'
                    and t.placement_id = h.placement_id
            ) then 'suppressed:negative_reply'
            -- a planned row whose date moved out of reach was changed, not missed
            when h.window_end < p.d and exists (
                select 1
                from open_ledger as o
                where o.touchpoint_id = h.touchpoint_id and o.due_date <> h.due_date
            ) then 'cancelled:placement_changed'
            when h.window_end < p.d then 'expired:missed_window'
            when least({{ eligible_ranks() }}) is null
                then 'suppressed:no_eligible_channel'
        end as verdict
    from subject_holds as h
    left join candidates as c on c.candidate_id = h.candidate_id
    inner join milestones as ms on ms.milestone = h.milestone
    inner join channel_ranks as r on r.milestone = h.milestone
    cross join plan_day as p
),

-- one occurrence per candidate of a milestone that must not repeat within days: the earliest
-- due (then the lowest id) goes ahead, the others are suppressed as recently sent (numbered
-- among those open occurrences only, not over every row)
deduplicated as (
    select j.*, j.verdict as decided
    from judged as j
    where j.verdict is not null or j.not_within_days is null
    union all
    select
        j.*,
        case
            when row_number() over (
                partition by j.candidate_id, j.milestone order by j.due_date, j.touchpoint_id
            ) > 1 then 'suppressed:recently_sent'
        end
    from judged as j
    where j.verdict is null and j.not_within_days is not null
),

-- what the cap already counts: messages sent to the candidate on the plan date and in the
-- seven days to it (recruiter tasks and other exempt milestones do not count); a bound on the
-- instant first, with days to spare for any zone, so that only the last days' sends are read
sent_counts as (
    select
        t.candidate_id,
        sum(case when {{ m.local_day('t.sent_at', 'c.zone') }} = p.d then 1 else 0 end) as today,
        count(*) as week
    from aftercare.touchpoints as t
    inner join milestones as ms on ms.milestone = t.milestone and not ms.cap_exempt
    inner join candidates as c on c.candidate_id = t.candidate_id
    cross join plan_day as p
    where t.status = 'sent'
        and t.sent_at >= cast(cast(:plan_date as date) - 8 as timestamptz)
        and {{ m.local_day('t.sent_at', 'c.zone') }} between p.d - 6 and p.d
    group by t.candidate_id
),

-- the capped occurrences due by the plan date, in priority order per candidate
ranked as (
    select
        d.touchpoint_id,
        row_number() over (
            partition by d.candidate_id order by d.priority, d.due_date, d.touchpoint_id
        ) as cap_rank,
        greatest(
            0,
            least(
                :per_day - coalesce(s.today, 0), :per_7_days - coalesce(s.week, 0)
            )
        ) as allowance
    from deduplicated as d
    left join sent_counts as s on s.candidate_id = d.candidate_id
    cross join plan_day as p
    where d.decided is null and not d.cap_exempt and d.due_date <= p.d
        -- weekday-only ones wait for Monday on a weekend, and take no share of its cap
        and not (d.weekdays_only and extract(isodow from p.d) >= 6)
),

-- the day each open occurrence goes out: the plan date, the next day when the cap defers
-- it, or its due date when that is still ahead; a weekday-only one on a weekend moves on to
-- the Monday
send_days as (
    select
        d.touchpoint_id,
        r.cap_rank > r.allowance as deferred,
        case
            when d.due_date > p.d then d.due_date
            when r.cap_rank > r.allowance then p.d + 1
            else p.d
        end as nominal_day
    from deduplicated as d
    left join ranked as r on r.touchpoint_id = d.touchpoint_id
    cross join plan_day as p
    where d.decided is null
),

scheduled as (
    select
        d.*,
        coalesce(s.deferred, false) as deferred,
        {{ weekday_on_or_after('s.nominal_day', 'd.weekdays_only') }} as send_day
    from deduplicated as d
    left join send_days as s on s.touchpoint_id = d.touchpoint_id
)

select
    d.touchpoint_id,
    d.milestone,
    d.placement_id,
    d.candidate_id,
    d.occurrence,
    -- the channel it goes out on, or would have: none when the reason is about the subject,
    -- whatever the channel (docs/data-dictionary.md, "channel")
    case
        when d.decided is null then d.channel
        when d.decided like 'cancelled:%' then null
        when d.decided in (
            'suppressed:quarantined', 'suppressed:candidate_removed', 'suppressed:negative_reply'
        ) then null
        else d.channel
    end as channel,
    d.due_date,
    d.window_end,
    case
        when d.decided is null and d.send_day <= d.window_end
            then {{ m.local_instant('d.send_day', 'd.send_time', 'd.zone') }}
    end as send_at,
    case
        when d.decided is not null then split_part(d.decided, ':', 1)
        when d.send_day > d.window_end and d.deferred then 'suppressed'
        when d.send_day > d.window_end then 'expired'
        else 'planned'
    end as status,
    case
        when d.decided is not null then split_part(d.decided, ':', 2)
        when d.send_day > d.window_end and d.deferred then 'frequency_cap'
        when d.send_day > d.window_end then 'missed_window'
    end as reason,
    coalesce(o.planned_at, current_timestamp) as planned_at,
    coalesce(o.attempts, 0) as attempts,
    o.provider_message_id,
    -- not in the ledger at all (every other proposal is one of its planned rows)
    o.touchpoint_id is null as is_new
from scheduled as d
left join open_ledger as o on o.touchpoint_id = d.touchpoint_id;

-- the ledger's planned rows no longer due at all, cancelled (a reason about the subject: no
-- channel): the placement ended, or changed out of reach. Every planned row's subject was looked
-- at above, so a planned row without a proposal is one no longer due.
insert into plan_proposals (
    touchpoint_id, milestone, placement_id, candidate_id, occurrence, channel, due_date,
    window_end, send_at, status, reason, planned_at, attempts, provider_message_id, is_new
)
select
    t.touchpoint_id,
    t.milestone,
    t.placement_id,
    t.candidate_id,
    t.occurrence,
    null,
    t.due_date,
    t.window_end,
    null,
    'cancelled',
    case
        when exists (
            select 1
            from staging.placements as p
            where p.placement_id = t.placement_id
                and p.is_active
                and not p.is_deleted
                and (p.end_date is null or p.end_date >= t.due_date)
        ) then 'placement_changed'
        else 'placement_ended'
    end,
    t.planned_at,
    t.attempts,
    t.provider_message_id,
    false
from aftercare.touchpoints as t
where t.status = 'planned'
    and coalesce(t.plan_date, cast(:plan_date as date)) <= cast(:plan_date as date)
    and not exists (
        select 1 from plan_proposals as p where p.touchpoint_id = t.touchpoint_id
    );
