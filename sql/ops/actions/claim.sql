-- aftercare.ops_actions: the action :action_id (an aftercare_ops dag run) is recorded first, in
-- the transaction that applies it, its result filled in last; none if recorded already (a retry
-- or a re-run: applied once). On Postgres a second transaction waits on the key, then finds it.
insert into aftercare.ops_actions (
    action_id, kind, target, comment, requested_by, requested_at, result
)
values (
    :action_id, :kind, :target, :comment, :requested_by, cast(:requested_at as timestamptz),
    cast('{}' as {{ types.json }})
)
on conflict (action_id) do nothing
