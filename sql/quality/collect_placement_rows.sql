{% import "macros.sql" as m with context %}
-- placement_rows (temporary, this session's): one row per placement of the loads being
-- validated (the load_ids), or asked to be judged again (its version of that load), the
-- version staging would take (the latest), with what the
-- placement row suite judges, numbered into chunks of `rows` in id order
drop table if exists placement_rows;

create temp table placement_rows as
with
latest as (
    select *
    from {{ m.ranked_changes(
        'placement_changes', 'placement_id', 'Placement', again='requested'
    ) }} as ranked
    where version_rank = 1
),

-- a candidate the ATS sent exists, staged or not: a placement does not wait for its candidate
-- to leave quarantine (planning holds that candidate's touchpoints back meanwhile)
known_candidates as (
    select candidate_id from staging.candidates
    union
    select candidate_id
    from staging.candidate_changes
    where load_id in {{ m.json_texts('load_ids') }}
    union
    select cast(record_id as bigint)
    from quality.quarantine
    where entity = 'candidate' and released_at is null
)

select
    cast(floor((row_number() over (order by latest.placement_id) - 1) / :rows) as integer)
        as chunk,
    latest.load_id,
    latest.placement_id,
    latest.candidate_id,
    known.candidate_id as known_candidate_id,
    latest.owner_email,
    latest.status,
    latest.employment_type,
    latest.start_date,
    latest.end_date,
    latest.date_last_modified
from latest
left join known_candidates as known on known.candidate_id = latest.candidate_id
