{% import "macros.sql" as m with context %}
-- one row: the instant from which staging rows may be invisible to this run, taken before it
-- reads staging (rows loaded at or after it are changes to the next run)
select {{ m.snapshot_start() }} as snapshot_at
