{% import "macros.sql" as m with context %}
-- raw.loads: the loads whose rows have now reached staging (exactly those staging read: a pull
-- committing meanwhile stays unstaged for the next run)
update raw.loads
set staged_at = current_timestamp
where load_id in {{ m.json_texts('load_ids') }}
