-- raw.loads: the load's progress after a batch of stored pages
update raw.loads
set
    pages = pages + :page_count,
    records = records + :record_count
where load_id = :load_id;

-- raw.watermarks: the feed position moves only with stored pages (same transaction)
insert into raw.watermarks (entity, date_last_modified_ms, record_id, load_id, updated_at)
values (:entity, :end_ms, :end_id, :load_id, current_timestamp)
on conflict (entity) do update
    set date_last_modified_ms = excluded.date_last_modified_ms,
        record_id = excluded.record_id,
        load_id = excluded.load_id,
        updated_at = excluded.updated_at
