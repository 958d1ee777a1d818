{% import "macros.sql" as m with context %}
-- erasure: the last try of each touchpoint of the candidates :candidate_ids (an sms's
-- recipient); ids, milestones, channels, statuses, reasons and times stay, so counts do
update aftercare.touchpoints
set attempt = null
where cast(candidate_id as varchar) in {{ m.json_texts('candidate_ids') }}
    and attempt is not null
;

-- and the share link of their Sendspark renders (a video personalised with their name)
update aftercare.video_renders
set share_url = null
where cast(candidate_id as varchar) in {{ m.json_texts('candidate_ids') }}
    and share_url is not null
