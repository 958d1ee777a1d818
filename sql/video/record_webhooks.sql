{% import "macros.sql" as m with context %}
-- what Sendspark's webhooks said of renders, from the candidate-facing service's feed
-- (:events, a json array of {touchpoint_id, event, share_url, at}; event render_ready or
-- render_failed): a render still requested becomes ready with its share URL, or failed; one
-- that fell back already stays so (its touchpoint went out through our own page)
update aftercare.video_renders as r
set
    state = case when value ->> 'event' = 'render_ready' then 'ready' else 'failed' end,
    share_url = value ->> 'share_url',
    reason = case when value ->> 'event' = 'render_failed' then 'render_failed' end,
    ready_at = case
        when value ->> 'event' = 'render_ready' then cast(value ->> 'at' as timestamptz)
    end,
    updated_at = cast(value ->> 'at' as timestamptz)
from {{ m.json_rows('events') }}
where r.touchpoint_id = value ->> 'touchpoint_id'
    and r.state = 'requested'
