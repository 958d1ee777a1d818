-- postgres only (aftercare.warehouse.section): wait for a session advisory lock, shared or
-- exclusive, held until unlock_all.sql (or the session's end)
select {{ 'pg_advisory_lock_shared' if shared else 'pg_advisory_lock' }}(:lock_key)
