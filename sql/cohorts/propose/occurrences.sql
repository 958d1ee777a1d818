{% import "macros.sql" as m with context %}
-- plan_occurrences (temporary): one row per milestone occurrence that can concern the plan
-- date and that this run looks at (see changed.sql), with its id, the date it falls due (a
-- weekend due date moved to the Monday for weekday-only milestones), the last day of its window
-- and the placement's columns planning reads (so that no stage after joins the placements
-- again); the ledger's planned rows come too, wherever their due date moved
drop table if exists plan_occurrences;

create temp table plan_occurrences as
with
-- the milestones with the days back one can be new to this run
milestones as (
    select
        ms.*,
        r.reach
    from plan_milestones as ms
    inner join plan_reach as r on r.milestone = ms.milestone
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
    select
        ms.milestone,
        y.back
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

-- one row per milestone and subject (and year back, for yearly ones) worth deciding, with
-- its anchor date and the placement's columns planning reads (so that nothing below joins the
-- placements again): once-milestones by range (a range join, not a scan per milestone), yearly
-- ones for every subject near in the year, in the years whose anniversary can concern the plan
-- date (each within its reach, or its full reach when looked at in full), and the subjects of
-- the ledger's planned rows wherever they moved (from_ledger: `near` keeps those only when they
-- moved away, so no occurrence comes twice)
subject_anchors as (
    select
        r.milestone,
        p.placement_id,
        p.candidate_id,
        p.start_date as anchor_date,
        0 as back,
        p.employment_class,
        p.is_active,
        p.end_date as placement_end,
        p.owner_id,
        false as from_ledger
    from anchor_ranges as r
    inner join staging.placements as p on p.start_date between r.earliest and r.latest
    left join
        plan_changed_subjects as f
        on f.milestone = r.milestone and f.subject_id = p.placement_id
    where r.anchor = 'start_date' and not p.is_deleted
        and (p.start_date >= r.recent or f.subject_id is not null)
    union all
    select
        r.milestone,
        p.placement_id,
        p.candidate_id,
        p.end_date,
        0,
        p.employment_class,
        p.is_active,
        p.end_date as placement_end,
        p.owner_id,
        false
    from anchor_ranges as r
    inner join staging.placements as p on p.end_date between r.earliest and r.latest
    left join
        plan_changed_subjects as f
        on f.milestone = r.milestone and f.subject_id = p.placement_id
    where r.anchor = 'end_date' and not p.is_deleted
        and (p.end_date >= r.recent or f.subject_id is not null)
    union all
    select
        a.milestone,
        a.placement_id,
        a.candidate_id,
        a.start_date,
        y.back,
        a.employment_class,
        a.is_active,
        a.placement_end,
        a.owner_id,
        false
    from (
        select
            ms0.milestone,
            p.placement_id,
            p.candidate_id,
            p.start_date,
            p.employment_class,
            p.is_active,
            p.end_date as placement_end,
            p.owner_id
        from milestones as ms0
        inner join staging.placements as p
            on ms0.repeat_rule = 'yearly' and ms0.subject = 'placement'
        cross join plan_day as pd0
        where ms0.anchor = 'start_date' and not p.is_deleted
            and {{ m.near_in_year('p.start_date', 'pd0.d - ms0.offset_days', 'ms0.full_reach') }}
    ) as a
    inner join milestones as ms on ms.milestone = a.milestone
    cross join plan_day as pd
    left join
        plan_changed_subjects as f
        on f.milestone = a.milestone and f.subject_id = a.placement_id
    inner join year_reach as y on y.milestone = a.milestone
    where {{ m.near_in_year('a.start_date', 'pd.d - ms.offset_days', 'ms.reach') }}
        or f.subject_id is not null
    union all
    select
        a.*,
        y.back,
        cast(null as varchar),
        cast(null as boolean),
        cast(null as date),
        cast(null as bigint),
        false
    from (
        select
            ms0.milestone,
            cast(null as bigint),
            c.candidate_id,
            c.date_of_birth
        from milestones as ms0
        inner join staging.candidates as c on ms0.subject = 'candidate'
        cross join plan_day as pd0
        where c.date_of_birth is not null
            and {{ m.near_in_year('c.date_of_birth', 'pd0.d - ms0.offset_days', 'ms0.full_reach') }}
    ) as a
    inner join milestones as ms on ms.milestone = a.milestone
    cross join plan_day as pd
    left join
        plan_changed_subjects as f
        on f.milestone = a.milestone and f.subject_id = a.candidate_id
    inner join year_reach as y on y.milestone = a.milestone
    where {{ m.near_in_year('a.date_of_birth', 'pd.d - ms.offset_days', 'ms.reach') }}
        or f.subject_id is not null
    union all
    select
        ms.milestone,
        p.placement_id,
        p.candidate_id,
        case ms.anchor when 'start_date' then p.start_date when 'end_date' then p.end_date end,
        y.back,
        p.employment_class,
        p.is_active,
        p.end_date as placement_end,
        p.owner_id,
        true
    from plan_open_ledger as o
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
            not exists (select 1 from plan_classes as k where k.milestone = a.milestone)
            or exists (
                select 1
                from plan_classes as k
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
                then {{
                    m.add_years('n.anchor_date', 'n.occurrence - extract(year from n.anchor_date)')
                }} + ms.offset_days
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
        and {{ m.touchpoint_id('o') }} in (select ol.touchpoint_id from plan_open_ledger as ol)
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
        {{ m.touchpoint_id('o') }} as touchpoint_id,
        {{ m.weekday_on_or_after('o.nominal_due', 'ms.weekdays_only') }} as due_date
    from near as o
    inner join milestones as ms on ms.milestone = o.milestone
)

select
    dd.*,
    case
        when ms.window_ends_by_anchor
            then least(dd.due_date + ms.window_days, dd.anchor_date)
        else dd.due_date + ms.window_days
    end as window_end
from dated as dd
inner join milestones as ms on ms.milestone = dd.milestone;
