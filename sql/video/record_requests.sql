{% import "macros.sql" as m with context %}
-- renders about to be asked for (:renders, a json array of {touchpoint_id, candidate_id,
-- milestone, campaign}), recorded before the request leaves: state requested, no prospect
-- yet (a lost answer leaves it so, to be looked up)
insert into aftercare.video_renders (
    touchpoint_id, candidate_id, milestone, campaign, state, requested_at
)
select
    value ->> 'touchpoint_id',
    cast(value ->> 'candidate_id' as bigint),
    value ->> 'milestone',
    value ->> 'campaign',
    'requested',
    cast(:now as timestamptz)
from {{ m.json_rows('renders') }}
on conflict (touchpoint_id) do nothing
