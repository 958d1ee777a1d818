-- benchmarks only (DuckDB and Postgres): the day between two nightly plan runs. Dispatch sends
-- every planned touchpoint whose send time came before the instant `until`; the nightly extract
-- stages again the placements and candidates the ATS changed that day (the share
-- `changed_share` of each, picked by a hash of the id and `salt`; planning cannot tell a
-- changed field from an unchanged one, so their fields stay as they were)
{%- macro picked(column) -%}
{%- if dialect == 'postgresql' -%}
abs(hashtextextended(cast({{ column }} as text), :salt))
{%- else -%}
hash({{ column }}, :salt)
{%- endif -%}
{%- endmacro %}
update aftercare.touchpoints
set status = 'sent',
    sent_at = send_at,
    attempts = attempts + 1,
    updated_at = current_timestamp
where status = 'planned' and send_at < cast(:until as timestamptz);

update staging.placements
set date_last_modified = current_timestamp,
    loaded_at = current_timestamp
where {{ picked('placement_id') }} % 10000 < cast(:changed_share * 10000 as integer);

update staging.candidates
set date_last_modified = current_timestamp,
    loaded_at = current_timestamp
where {{ picked('candidate_id') }} % 10000 < cast(:changed_share * 10000 as integer)
