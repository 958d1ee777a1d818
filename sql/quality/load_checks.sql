{% import "macros.sql" as m with context %}
-- one row per load being validated (:load_ids): what the load suite judges. volume_share is
-- the records a finished load brought against what it is measured by (a full load: the
-- records staging holds; an incremental one: the median of the last :lookback staged
-- incremental loads, once there are :min_history of them), else null; newest_age_hours is how
-- old the newest change of the entity is at :as_of, across staging and the loads (the rows
-- and quarantined counts per load come from the row suites' run)
with
loads as (
    select
        load_id,
        entity,
        mode,
        records,
        extracted_at
    from raw.loads
    where load_id in {{ m.json_texts('load_ids') }}
),

staged_counts as (
    select
        'Placement' as entity,
        count(*) as records
    from staging.placements
    where not is_deleted
    union all
    select
        'Candidate',
        count(*)
    from staging.candidates
    where not is_deleted
),

recent_incremental as (
    select
        entity,
        records,
        row_number() over (partition by entity order by started_at desc) as recency
    from raw.loads
    where mode = 'incremental' and staged_at is not null and extracted_at is not null
),

incremental_medians as (
    select
        entity,
        {{ m.median('records') }} as median_records,
        count(*) as history
    from recent_incremental
    where recency <= :lookback
    group by entity
),

newest as (
    select
        'Placement' as entity,
        max(date_last_modified) as newest_change
    from (
        select date_last_modified from staging.placements
        union all
        select date_last_modified
        from staging.placement_changes
        where load_id in {{ m.json_texts('load_ids') }}
    ) as placement_changes
    union all
    select
        'Candidate',
        max(date_last_modified)
    from (
        select date_last_modified from staging.candidates
        union all
        select date_last_modified
        from staging.candidate_changes
        where load_id in {{ m.json_texts('load_ids') }}
    ) as candidate_changes
)

select
    loads.load_id,
    loads.entity,
    loads.mode,
    loads.records,
    case
        when loads.extracted_at is null then null
        when loads.mode = 'full' and staged.records > 0
            then cast(loads.records as double precision) / staged.records
        when loads.mode = 'incremental' and medians.history >= :min_history
            and medians.median_records > 0
            then loads.records / medians.median_records
    end as volume_share,
    extract(epoch from cast(:as_of as timestamptz) - newest.newest_change) / 3600.0
        as newest_age_hours
from loads
left join staged_counts as staged on staged.entity = loads.entity
left join incremental_medians as medians on medians.entity = loads.entity
left join newest on newest.entity = loads.entity
order by loads.entity, loads.load_id
