{% import "macros.sql" as m with context %}
-- candidate_rows (temporary, this session's): one row per candidate of the loads being
-- validated (the load_ids), or asked to be judged again (its version of that load), the
-- version staging would take (the latest), with what the
-- candidate row suite judges, numbered into chunks of `rows` in id order. age_at_start is the
-- age in whole years at the candidate's first placement start (staged or loaded now), or on
-- the as_of date for a candidate without placements
drop table if exists candidate_rows;

create temp table candidate_rows as
with
latest as (
    select *
    from {{ m.ranked_changes(
        'candidate_changes', 'candidate_id', 'Candidate', again='requested'
    ) }} as ranked
    where version_rank = 1
),

placement_starts as (
    select
        candidate_id,
        start_date
    from staging.placements
    union all
    select
        candidate_id,
        start_date
    from staging.placement_changes
    where load_id in {{ m.json_texts('load_ids') }}
),

first_starts as (
    select
        candidate_id,
        min(start_date) as first_start
    from placement_starts
    group by candidate_id
)

select
    cast(floor((row_number() over (order by latest.candidate_id) - 1) / :rows) as integer)
        as chunk,
    latest.load_id,
    latest.candidate_id,
    latest.email,
    latest.mobile_raw,
    latest.mobile_e164,
    latest.phone_raw,
    latest.phone_e164,
    latest.date_of_birth,
    {{ m.years_between(
        'latest.date_of_birth', 'coalesce(starts.first_start, cast(:as_of as date))'
    ) }} as age_at_start,
    latest.date_added,
    latest.date_last_modified
from latest
left join first_starts as starts on starts.candidate_id = latest.candidate_id
