{% import "macros.sql" as m with context %}
-- aftercare.touchpoints: the ledger takes what the run for local date :plan_date decided
-- (plan_proposals). Sent and otherwise final rows never change; planned rows are
-- decided again by every run, but never by a run for an earlier date than the one that last
-- changed them (a backfill leaves later decisions alone), and never while dispatch has them
-- in flight or in doubt (a send that may have gone out is looked up first, as it was tried).

-- planned rows decided again and changed: updated in place (plan_date: the run that changed
-- them last), keeping the time they were first planned, their attempts and provider id;
-- unchanged rows are not written (a night's planned rows mostly stay as they were). An update
-- of the non-key columns: a delete and insert of the same ids costs DuckDB ~1 s a 50k rows at
-- commit (its primary-key index), and an `update ... from plan_proposals` ~10x more than these
-- lookups (it writes in the join's order)
update aftercare.touchpoints as t
set
    status = (select p.status from plan_proposals as p where p.touchpoint_id = t.touchpoint_id),
    reason = (select p.reason from plan_proposals as p where p.touchpoint_id = t.touchpoint_id),
    channel = (select p.channel from plan_proposals as p where p.touchpoint_id = t.touchpoint_id),
    due_date = (select p.due_date from plan_proposals as p where p.touchpoint_id = t.touchpoint_id),
    window_end
    = (select p.window_end from plan_proposals as p where p.touchpoint_id = t.touchpoint_id),
    send_at = (select p.send_at from plan_proposals as p where p.touchpoint_id = t.touchpoint_id),
    plan_date = cast(:plan_date as date),
    updated_at = current_timestamp
where t.status = 'planned'
    and coalesce(t.plan_date, cast(:plan_date as date)) <= cast(:plan_date as date)
    and not t.in_doubt
    and not {{ m.in_flight('t.touchpoint_id') }}
    and exists (
        select 1
        from plan_proposals as p
        where p.touchpoint_id = t.touchpoint_id
            and (
                t.status is distinct from p.status
                or t.reason is distinct from p.reason
                or t.channel is distinct from p.channel
                or t.due_date is distinct from p.due_date
                or t.window_end is distinct from p.window_end
                or t.send_at is distinct from p.send_at
            )
    );

-- occurrences new to the ledger
insert into aftercare.touchpoints (
    touchpoint_id, milestone, placement_id, candidate_id, occurrence, channel, due_date,
    window_end, send_at, status, reason, plan_date, planned_at, attempts, provider_message_id
)
select
    p.touchpoint_id,
    p.milestone,
    p.placement_id,
    p.candidate_id,
    p.occurrence,
    p.channel,
    p.due_date,
    p.window_end,
    p.send_at,
    p.status,
    p.reason,
    cast(:plan_date as date),
    p.planned_at,
    p.attempts,
    p.provider_message_id
from plan_proposals as p
-- propose knows: a proposal not among the ledger's planned rows is not in it (the settled
-- ones it left out), so the ledger's millions of ids are not read again here; should one be
-- there after all, its primary key refuses the run
where p.is_new
