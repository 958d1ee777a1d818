-- statistics for every table right after migrations (postgres). a table never analyzed is
-- assumed to span 10 pages, even when empty: aftercare.milestone_pauses, empty until a
-- milestone is paused (autovacuum never analyzes an untouched table), then made dispatch's
-- due.sql estimate one open row out of thousands and join them in nested loops (minutes,
-- not a second). an analyzed empty table is known to be empty. duckdb keeps its own.
{% if dialect == 'postgresql' %}
analyze
{% endif %}
