{% import "macros.sql" as m with context %}
-- plan_scheduled (temporary): the eligible occurrences (plan_eligible) with the day each open
-- one goes out (`send_day`), under the frequency cap: a capped one beyond the candidate's
-- allowance is deferred to the next day (`deferred`)
drop table if exists plan_scheduled;

create temp table plan_scheduled as
with
-- what the cap already counts: messages sent to the candidate on the plan date and in the
-- seven days to it (recruiter tasks and other exempt milestones do not count); a bound on the
-- instant first, with days to spare for any zone, so that only the last days' sends are read
sent_counts as (
    select
        t.candidate_id,
        sum(case when {{ m.local_day('t.sent_at', 'c.zone') }} = p.d then 1 else 0 end) as today,
        count(*) as week
    from aftercare.touchpoints as t
    inner join plan_milestones as ms on ms.milestone = t.milestone and not ms.cap_exempt
    inner join plan_candidates as c on c.candidate_id = t.candidate_id
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
    from plan_eligible as d
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
    from plan_eligible as d
    left join ranked as r on r.touchpoint_id = d.touchpoint_id
    cross join plan_day as p
    where d.decided is null
)

select
    d.*,
    coalesce(s.deferred, false) as deferred,
    {{ m.weekday_on_or_after('s.nominal_day', 'd.weekdays_only') }} as send_day
from plan_eligible as d
left join send_days as s on s.touchpoint_id = d.touchpoint_id;
