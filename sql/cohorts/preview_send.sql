-- aftercare.touchpoints: a preview only (rolled back): the touchpoints planned for
-- :plan_date count as sent at their send time, so the next previewed day sees the cap used
update aftercare.touchpoints
set status = 'sent', sent_at = send_at
where status = 'planned'
    and touchpoint_id in (select touchpoint_id from plan_proposals where status = 'planned')
    and send_at < cast(:plan_date as date) + 1
