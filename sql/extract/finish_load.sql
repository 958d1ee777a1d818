-- one row per pull: closes the load
update raw.loads
set extracted_at = current_timestamp
where load_id = :load_id
