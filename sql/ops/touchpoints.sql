-- the ledger's rows as the console lists them (the rows behind a count, the rows in doubt, a
-- candidate's): due on :day, of :milestone, on :channel ('none': without one), in :status, of
-- :candidate_id (each null: any), in doubt only when :in_doubt_only; the latest due date
-- first, then by send time and id; at most :row_limit
select
    t.touchpoint_id,
    t.milestone,
    t.candidate_id,
    t.placement_id,
    t.channel,
    t.status,
    t.reason,
    t.due_date,
    t.window_end,
    t.send_at,
    t.sent_at,
    t.updated_at,
    t.provider_message_id,
    t.attempts,
    t.in_doubt
from aftercare.touchpoints as t
where (cast(:day as date) is null or t.due_date = cast(:day as date))
    and (cast(:milestone as varchar) is null or t.milestone = :milestone)
    and (cast(:channel as varchar) is null or coalesce(t.channel, 'none') = :channel)
    and (cast(:status as varchar) is null or t.status = :status)
    and (cast(:candidate_id as bigint) is null or t.candidate_id = :candidate_id)
    and (t.in_doubt or not :in_doubt_only)
order by t.due_date desc, t.send_at asc nulls last, t.touchpoint_id asc
limit :row_limit
