{% import "macros.sql" as m with context %}
-- the prospects Sendspark made for requested renders (:prospects, a json array of
-- {touchpoint_id, prospect_id, share_url}): a share URL already there (a render looked up
-- after a lost answer, done meanwhile) makes it ready
update aftercare.video_renders as r
set
    prospect_id = value ->> 'prospect_id',
    state = case when value ->> 'share_url' is null then r.state else 'ready' end,
    share_url = value ->> 'share_url',
    ready_at = case when value ->> 'share_url' is null then null else cast(:now as timestamptz) end,
    updated_at = cast(:now as timestamptz)
from {{ m.json_rows('prospects') }}
where r.touchpoint_id = value ->> 'touchpoint_id'
    and r.state = 'requested'
