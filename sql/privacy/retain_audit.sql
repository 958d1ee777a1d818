-- retention: the erasure audit of requests finished before :cutoff (each request's row, its
-- candidates' outcomes, what the providers were asked); never the erased hashes
delete from aftercare.erasures
where request_id in (
        select r.request_id from aftercare.erasure_requests as r
        where r.finished_at < cast(:cutoff as timestamptz)
    );

delete from aftercare.provider_erasures
where asked_at < cast(:cutoff as timestamptz);

delete from aftercare.erasure_requests
where finished_at < cast(:cutoff as timestamptz)
