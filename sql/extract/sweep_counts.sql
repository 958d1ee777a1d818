-- one row: how many placement ids the sweep listed, against what staging holds as present
select
    (select count(*) from raw.placement_ids where load_id = :load_id) as listed,
    (select count(*) from staging.placements where not is_deleted) as present
