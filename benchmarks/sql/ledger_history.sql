{% import "macros.sql" as m with context %}
-- benchmarks only (DuckDB): the ledger of a book planned for years before the plan date, every
-- touchpoint of it settled: each placement's once-milestones (the milestones as the plan binds
-- them) and first three work anniversaries, and every candidate's birthdays of 2023-2025, those
-- due more than 30 days before, each sent on its due date (the ids are the plan's own, so a
-- night's occurrences meet their history)
insert into aftercare.touchpoints (
    touchpoint_id, milestone, placement_id, candidate_id, occurrence, channel, due_date,
    window_end, send_at, status, plan_date, planned_at, sent_at, attempts
)
with
milestones as (
    select
        r.value ->> 'name' as milestone,
        r.value ->> 'subject' as subject,
        r.value ->> 'anchor' as anchor,
        r.value ->> 'repeat' as repeat_rule,
        cast(r.value ->> 'offset_days' as integer) as offset_days
    from {{ m.json_rows('milestones') }} as r
),

history as (
    select
        ms.milestone || ':placement:' || cast(p.placement_id as varchar) || ':' || '1' as touchpoint_id,
        ms.milestone, p.placement_id, p.candidate_id, 1 as occurrence,
        case ms.anchor when 'end_date' then p.end_date else p.start_date end
            + ms.offset_days as due_date
    from milestones as ms
    inner join staging.placements as p on ms.repeat_rule = 'once'
    union all
    select
        ms.milestone || ':placement:' || cast(p.placement_id as varchar) || ':'
            || cast(y.n as varchar),
        ms.milestone, p.placement_id, p.candidate_id, y.n,
        p.start_date + to_years(cast(y.n as integer))
    from milestones as ms
    inner join staging.placements as p
        on ms.repeat_rule = 'yearly' and ms.subject = 'placement'
    cross join range(1, 4) as y(n)
    union all
    select
        ms.milestone || ':candidate:' || cast(c.candidate_id as varchar) || ':'
            || cast(y.n as varchar),
        ms.milestone, null, c.candidate_id, y.n,
        make_date(cast(y.n as integer), month(c.date_of_birth), least(day(c.date_of_birth), 28))
    from milestones as ms
    inner join staging.candidates as c on ms.subject = 'candidate'
    cross join range(2023, 2026) as y(n)
    where c.date_of_birth is not null
)

select
    touchpoint_id, milestone, placement_id, candidate_id, occurrence, 'email', due_date,
    due_date, due_date + interval 10 hour, 'sent', due_date, due_date, due_date + interval 10 hour, 1
from history
where due_date < cast(:plan_date as date) - 30
-- in the order the nights wrote them
order by due_date
