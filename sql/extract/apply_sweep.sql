-- staging.placements: a placement the ATS no longer lists is deleted there (Bullhorn deletes
-- placements for good); it stays in staging, flagged (is_deleted), and gets no more touchpoints
update staging.placements
set
    is_deleted = true,
    loaded_at = current_timestamp
where not is_deleted
    and not exists (
        select 1
        from raw.placement_ids as i
        where i.load_id = :load_id and i.placement_id = staging.placements.placement_id
    )
