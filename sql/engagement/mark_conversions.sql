{% import "macros.sql" as m with context %}
-- engagement.responses: a referral whose referred candidate has since been placed is converted
-- (its first placement named)
update engagement.responses as r
set detail = {{ m.json_object([
        "'referred_candidate_id'", "cast(r.detail ->> 'referred_candidate_id' as bigint)",
        "'converted'", 'true',
        "'placement_id'", 'p.placement_id',
    ]) }}
from (
    select
        candidate_id,
        min(placement_id) as placement_id
    from staging.placements
    where not is_deleted
    group by candidate_id
) as p
where r.kind = 'referral'
    and p.candidate_id = cast(r.detail ->> 'referred_candidate_id' as bigint)
    and coalesce(r.detail ->> 'converted', 'false') <> 'true'
