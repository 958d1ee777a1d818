-- one row per pull: opens the load
insert into raw.loads (load_id, entity, mode, run_id, after_ms, after_id)
values (:load_id, :entity, :mode, :run_id, :after_ms, :after_id)
