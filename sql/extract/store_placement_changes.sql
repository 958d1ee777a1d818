{% import "macros.sql" as m with context %}
-- staging.placement_changes: one row per placement of a batch of pages (:bodies, as stored in
-- raw), normalised:
-- epoch ms to UTC timestamps, and to local dates in the agency's zone (:zone: Bullhorn keeps a
-- date as midnight, US Eastern or the agency's: m.local_date); employmentType (a picklist that is
-- multi-value in some corporations: a json list, of which the first value counts) to our class
-- through the config mapping (:classes; no type: no end date means permanent, else temp; an
-- unmapped type is quarantined by the gate); status to is_active (:active_statuses)
insert into staging.placement_changes (
    load_id, page, placement_id, candidate_id, owner_id, owner_first_name, owner_last_name,
    owner_email, job_title, client_name, status, employment_type, employment_class, is_active,
    start_date, end_date, date_added, date_last_modified
)
with
{% if dialect == 'duckdb' -%}
-- duckdb parses each record once into a struct (its ->> would parse it again per field)
page_rows as (
    select
        b.page,
        json_transform(
            b.record,
            '{"id": "BIGINT", "status": "VARCHAR", "employmentType": "JSON",
              "dateBegin": "BIGINT", "dateEnd": "BIGINT", "dateAdded": "BIGINT",
              "dateLastModified": "BIGINT", "candidate": {"id": "BIGINT"},
              "owner": {"id": "BIGINT", "firstName": "VARCHAR", "lastName": "VARCHAR",
                        "email": "VARCHAR"},
              "jobOrder": {"title": "VARCHAR", "clientCorporation": {"name": "VARCHAR"}}}'
        ) as s
    from {{ m.batch_records('bodies') }} as b
),

-- s is the record's struct column: s.owner.email is a field, named by its alias
extracted as (
    select
        page_rows.page,
        s.id,
        s.candidate.id as candidate,
        s.owner.id as owner,
        s.owner.firstName as first_name,
        s.owner.lastName as last_name,
        s.owner.email as email,  -- noqa: AL09
        s.jobOrder.title as title,  -- noqa: AL09
        s.jobOrder.clientCorporation.name as client,
        s.status,
        case
            when json_type(s.employmentType) = 'ARRAY' then s.employmentType ->> 0
            else s.employmentType ->> '$'
        end as kind,
        s.dateBegin as begin_ms,
        s.dateEnd as end_ms,
        s.dateAdded as added_ms,
        s.dateLastModified as modified_ms
    from page_rows
),
{%- else -%}
-- postgres keeps jsonb parsed: ->> per field is cheap
extracted as (
    select
        b.page,
        cast(b.record ->> 'id' as bigint) as id,
        cast(b.record -> 'candidate' ->> 'id' as bigint) as candidate,
        cast(b.record -> 'owner' ->> 'id' as bigint) as owner,
        b.record -> 'owner' ->> 'firstName' as first_name,
        b.record -> 'owner' ->> 'lastName' as last_name,
        b.record -> 'owner' ->> 'email' as email,
        b.record -> 'jobOrder' ->> 'title' as title,
        b.record -> 'jobOrder' -> 'clientCorporation' ->> 'name' as client,
        b.record ->> 'status' as status,
        case jsonb_typeof(b.record -> 'employmentType')
            when 'array' then b.record -> 'employmentType' ->> 0
            else b.record ->> 'employmentType'
        end as kind,
        cast(b.record ->> 'dateBegin' as bigint) as begin_ms,
        cast(b.record ->> 'dateEnd' as bigint) as end_ms,
        cast(b.record ->> 'dateAdded' as bigint) as added_ms,
        cast(b.record ->> 'dateLastModified' as bigint) as modified_ms
    from {{ m.batch_records('bodies') }} as b
),
{%- endif %}

classes as (
    select
        key as employment_type,
        value as employment_class
    from {{ m.json_pairs('classes') }} as pairs
),

active as (
    select key as status
    from {{ m.json_pairs('active_statuses') }} as pairs
),

fields as (
    select
        page,
        id as placement_id,
        candidate as candidate_id,
        owner as owner_id,
        nullif(trim(first_name), '') as owner_first_name,
        nullif(trim(last_name), '') as owner_last_name,
        nullif(trim(email), '') as owner_email,
        nullif(trim(title), '') as job_title,
        nullif(trim(client), '') as client_name,
        nullif(trim(status), '') as status,
        nullif(trim(kind), '') as employment_type,
        begin_ms,
        end_ms,
        added_ms,
        modified_ms
    from extracted
)

select
    :load_id,
    f.page,
    f.placement_id,
    f.candidate_id,
    f.owner_id,
    f.owner_first_name,
    f.owner_last_name,
    f.owner_email,
    f.job_title,
    f.client_name,
    f.status,
    f.employment_type,
    coalesce(
        c.employment_class,
        case when f.end_ms is null then 'permanent' else 'temp' end
    ),
    a.status is not null,
    {{ m.local_date('f.begin_ms') }},
    {{ m.local_date('f.end_ms') }},
    to_timestamp(f.added_ms / 1000.0),
    to_timestamp(f.modified_ms / 1000.0)
from fields as f
left join classes as c on c.employment_type = f.employment_type
left join active as a on a.status = f.status
