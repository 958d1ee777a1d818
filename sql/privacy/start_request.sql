-- the audit row of an erasure request, once (a retried task finds it)
insert into aftercare.erasure_requests (
    request_id, requested_by, source, requested_at, candidates
)
values (:request_id, :requested_by, :source, cast(:requested_at as timestamptz), :candidates)
on conflict (request_id) do nothing
