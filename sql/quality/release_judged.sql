{% import "macros.sql" as m with context %}
-- quality.quarantine: the open rows of the records this chunk judged again, for the same loads
-- (:judged, a json array of 'id/load_id' texts), are released: a record that fails again is
-- opened again by quarantine_rows.sql in the same transaction, one that passes now (the config
-- or a record it depends on changed) stays released
update quality.quarantine
set released_at = current_timestamp
where entity = :entity
    and released_at is null
    and record_id || '/' || load_id in {{ m.json_texts('judged') }}
