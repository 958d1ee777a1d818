-- aftercare.suppressions: an sms STOP loaded from :since on (the warehouse's time of loading)
-- suppresses sms; a suppression already there stays as it was
insert into aftercare.suppressions (candidate_id, channel, reason, source)
select distinct
    r.candidate_id,
    'sms',
    'sms_stop',
    'engagement'
from engagement.responses as r
where r.kind = 'opt_out' and r.detail ->> 'channel' = 'sms'
    and r.loaded_at >= cast(:since as timestamptz)
on conflict do nothing
