-- postgres only (aftercare.warehouse.section): release every session advisory lock this
-- connection holds
select pg_advisory_unlock_all()
