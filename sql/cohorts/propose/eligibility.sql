{% import "macros.sql" as m with context %}
-- Which occurrences may go out, and which not and why (temporary tables):
--   plan_settled_ledger  the ledger's rows this run must leave alone (final rows, and rows a
--                        later run decided) of the subjects and candidates it decides: the
--                        occurrences already settled, and the sends that count against a
--                        candidate
--   plan_holding         what this run decides whose subject still holds
--   plan_candidates      each candidate's zone and the channels they may be reached on
--   plan_eligible        each occurrence with its channel and its verdict (`decided`): the
--                        first reason not to send that applies, or none

-- one pass over a ledger that grows by millions of rows over the years, by its integer
-- columns (its ids are never read: text is what costs in a scan); an occurrence is matched by
-- milestone, subject (kind and id) and number, as its id is made
drop table if exists plan_settled_ledger;

create temp table plan_settled_ledger as
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
        in (select coalesce(w.placement_id, w.candidate_id) from plan_occurrences as w)
        or t.candidate_id in (select w.candidate_id from plan_occurrences as w)
    );

-- postgres: the recently-sent check of plan_eligible looks this table up by candidate once per
-- occurrence (a subquery inside a case, which Postgres runs as such, not as a join); without an
-- index that is a scan of it per occurrence: 190 s of a first night over three years of history
-- at 100,000 placements (benchmarks/postgres_benchmark.py). DuckDB joins it.
{% if dialect == 'postgresql' %}
create index on plan_settled_ledger (candidate_id);
{% endif %}

-- what this run decides (relevant): due by the plan date and still open, or missed within the
-- look-back; and every planned row of the ledger, wherever its due date moved. The subject must
-- still hold: placement active on the due date; a candidate milestone needs a placement begun
-- by that day and active then or ended within recent_placement_days. A placement ended on its
-- end date once that date has passed; one in a non-active status (terminated, completed, ...)
-- whose end date is missing or still ahead ended on the day the ATS last modified it; one that
-- ended before it began never counts. The same for every employment type.
drop table if exists plan_holding;

create temp table plan_holding as
with
relevant as (
    select w.*
    from plan_occurrences as w
    cross join plan_day as p
    where (
        (w.due_date <= p.d and (w.window_end >= p.d or w.due_date >= p.d - :look_back))
        or exists (select 1 from plan_open_ledger as o where o.touchpoint_id = w.touchpoint_id)
    )
    and not exists (
        select 1
        from plan_settled_ledger as s
        where s.milestone = w.milestone
            and s.subject_id = coalesce(w.placement_id, w.candidate_id)
            and (s.placement_id is null) = (w.placement_id is null)
            and s.occurrence = w.occurrence
    )
)

select r.*
from relevant as r
inner join plan_milestones as ms on ms.milestone = r.milestone
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
);

-- each candidate's zone, the channels they may be reached on (none once anonymised or deleted
-- in the ATS, or erased here) and whether they may get marketing milestones
drop table if exists plan_candidates;

create temp table plan_candidates as
select
    c.candidate_id,
    coalesce(c.time_zone, :zone) as zone,
    c.is_anonymized or c.is_deleted or {{ m.erased('c.candidate_id') }} as removed,
    -- a newer version in quarantine may carry an opt-out or an anonymisation: nothing
    -- goes out on the staged one until a valid version arrives
    {{ m.quarantined('candidate', 'c.candidate_id') }} as quarantined,
    {{ m.email_ok('c') }} as email_ok,
    {{ m.sms_ok('c') }} as sms_ok,
    {{ m.phone_ok('c') }} as phone_ok,
    {{ m.marketing_ok('c') }} as marketing_ok
from staging.candidates as c
where c.candidate_id in (select h.candidate_id from plan_holding as h);

drop table if exists plan_eligible;

create temp table plan_eligible as
with
-- the first verdict that applies, in this order
judged as (
    select
        h.*,
        coalesce(c.zone, :zone) as zone,
        case least({{ m.eligible_ranks('c', 'r', 'h') }})
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
                    from plan_settled_ledger as t
                    where t.candidate_id = h.candidate_id
                        and t.milestone = h.milestone
                        -- another occurrence (not by id: see plan_settled_ledger)
                        and (
                            t.occurrence <> h.occurrence
                            or t.placement_id is distinct from h.placement_id
                        )
                        and t.status = 'sent'
                        and {{ m.local_day('t.sent_at', 'c.zone') }}
                        > h.due_date - ms.not_within_days
                ) then 'suppressed:recently_sent'
            when ms.blocked_by_negative_reply and exists (
                    select 1
                    from engagement.responses as resp
                    inner join aftercare.touchpoints as t on t.touchpoint_id = resp.touchpoint_id
                    where resp.kind = 'reply'
                        and resp.detail ->> 'sentiment' = 'negative'
                        and t.placement_id = h.placement_id
                ) then 'suppressed:negative_reply'
            -- a planned row whose date moved out of reach was changed, not missed
            when h.window_end < p.d and exists (
                    select 1
                    from plan_open_ledger as o
                    where o.touchpoint_id = h.touchpoint_id and o.due_date <> h.due_date
                ) then 'cancelled:placement_changed'
            -- a planned row held back by an operator's pause of its milestone
            when h.window_end < p.d and {{ m.paused('h.milestone') }} and exists (
                    select 1 from plan_open_ledger as o where o.touchpoint_id = h.touchpoint_id
                ) then 'expired:milestone_paused'
            when h.window_end < p.d then 'expired:missed_window'
            -- a candidate who stopped marketing messages still gets the service ones
            when ms.purpose = 'marketing' and not c.marketing_ok
                then 'suppressed:marketing_opt_out'
            when least({{ m.eligible_ranks('c', 'r', 'h') }}) is null
                then 'suppressed:no_eligible_channel'
        end as verdict
    from plan_holding as h
    left join plan_candidates as c on c.candidate_id = h.candidate_id
    inner join plan_milestones as ms on ms.milestone = h.milestone
    inner join plan_channel_ranks as r on r.milestone = h.milestone
    cross join plan_day as p
)

-- one occurrence per candidate of a milestone that must not repeat within days: the earliest
-- due (then the lowest id) goes ahead, the others are suppressed as recently sent (numbered
-- among those open occurrences only, not over every row)
select
    j.*,
    j.verdict as decided
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
where j.verdict is null and j.not_within_days is not null;
