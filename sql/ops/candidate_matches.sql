-- the candidates a look-up matches, and by what: the ATS id :candidate_id, the email :email
-- (lower case; compared in lower case) or the E.164 mobile :mobile (each null: not asked), in
-- staging, the ledger (by id) or a quarantined version (its payload as the ATS sent it)
with
matches as (
    select
        c.candidate_id,
        case
            when c.candidate_id = :candidate_id then 'candidate_id'
            when lower(c.email) = :email then 'email'
            else 'mobile'
        end as matched_by
    from staging.candidates as c
    where c.candidate_id = :candidate_id
        or lower(c.email) = :email
        or c.mobile_e164 = :mobile
    union all
    select
        t.candidate_id,
        'candidate_id'
    from aftercare.touchpoints as t
    where t.candidate_id = :candidate_id
    union all
    select
        cast(q.record_id as bigint),
        case
            when q.record_id = cast(:candidate_id as varchar) then 'candidate_id'
            when lower(q.payload ->> 'email') = :email then 'email'
            else 'mobile'
        end
    from quality.quarantine as q
    where q.entity = 'Candidate'
        and (
            q.record_id = cast(:candidate_id as varchar)
            or lower(q.payload ->> 'email') = :email
            or q.payload ->> 'mobile_e164' = :mobile
        )
)

select distinct
    candidate_id,
    matched_by
from matches
order by candidate_id
