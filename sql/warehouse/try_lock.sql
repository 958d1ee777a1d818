-- postgres only (aftercare.warehouse.section): take a session advisory lock if free, shared or
-- exclusive; `locked` says whether it was taken (else the caller waits in lock.sql)
select
    {{ 'pg_try_advisory_lock_shared' if shared else 'pg_try_advisory_lock' }}(:lock_key) as locked
