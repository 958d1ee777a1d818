-- staging.placements: a placement flagged deleted by an earlier (faulty) listing that the ATS
-- lists again is restored
update staging.placements
set
    is_deleted = false,
    loaded_at = current_timestamp
where is_deleted
    and exists (
        select 1
        from raw.placement_ids as i
        where i.load_id = :load_id and i.placement_id = staging.placements.placement_id
    )
