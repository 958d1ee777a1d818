-- raw.loads: the loads of an entity whose rows have now reached staging
update raw.loads
set staged_at = current_timestamp
where entity = :entity and staged_at is null
