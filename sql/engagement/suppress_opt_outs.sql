{% import "macros.sql" as m with context %}
-- aftercare.suppressions: each opt-out the preferences service recorded (:opt_outs) suppresses
-- its channel (email, sms, all or marketing), reason preferences_page or preferences_one_click;
-- a suppression already there stays
insert into aftercare.suppressions (candidate_id, channel, reason, source)
select distinct
    cast(o.value ->> 'candidate_id' as bigint),
    o.value ->> 'channel',
    'preferences_' || (o.value ->> 'source'),
    'preferences'
from {{ m.json_rows('opt_outs') }} as o
on conflict do nothing
