{% import "macros.sql" as m with context %}
-- raw.loads: the loads that passed the gate (:load_ids); staging takes them next
update raw.loads
set validated_at = current_timestamp
where load_id in {{ m.json_texts('load_ids') }}
