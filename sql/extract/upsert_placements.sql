{% import "macros.sql" as m with context %}
-- staging.placements: one row per placement, the latest version from every load not yet
-- staged (including loads whose pull died half way: their stored pages count), or of an earlier
-- load when the gate judged it again on request and released it. An older
-- version never overwrites a newer one. A field that failed a field rule of the gate is taken
-- as absent.
insert into staging.placements as p (
    placement_id, candidate_id, owner_id, owner_first_name, owner_last_name, owner_email,
    job_title, client_name, employment_type, employment_class, status, is_active, start_date,
    end_date, date_added, date_last_modified, load_id, loaded_at
)
select
    placement_id,
    candidate_id,
    owner_id,
    owner_first_name,
    owner_last_name,
    {{ m.unless_found(
        'placement', 'latest.placement_id', 'latest.load_id', 'owner_email', 'owner_email'
    ) }},
    job_title,
    client_name,
    employment_type,
    employment_class,
    status,
    is_active,
    start_date,
    end_date,
    date_added,
    date_last_modified,
    load_id,
    current_timestamp
from {{ m.ranked_changes(
    'placement_changes', 'placement_id', 'Placement', again='released'
) }} as latest
-- the latest version only, and only if it passed validation (else it is in quarantine and
-- staging keeps the version it had)
where version_rank = 1
    and not {{ m.quarantined('placement', 'latest.placement_id', 'latest.load_id') }}
on conflict (placement_id) do update
    set candidate_id = excluded.candidate_id,
        owner_id = excluded.owner_id,
        owner_first_name = excluded.owner_first_name,
        owner_last_name = excluded.owner_last_name,
        owner_email = excluded.owner_email,
        job_title = excluded.job_title,
        client_name = excluded.client_name,
        employment_type = excluded.employment_type,
        employment_class = excluded.employment_class,
        status = excluded.status,
        is_active = excluded.is_active,
        is_deleted = false,  -- back in the change feed: it exists in the ATS
        start_date = excluded.start_date,
        end_date = excluded.end_date,
        date_added = excluded.date_added,
        date_last_modified = excluded.date_last_modified,
        load_id = excluded.load_id,
        loaded_at = excluded.loaded_at
    where excluded.date_last_modified >= p.date_last_modified
