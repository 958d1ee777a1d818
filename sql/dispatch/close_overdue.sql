{% import "macros.sql" as m with context %}
-- aftercare.touchpoints: planned rows whose window passed without a send (local date in the
-- candidate's zone, else the agency's) expire, at the instant :now (the dispatch clock). Rows in
-- a batch not yet folded into the ledger are left alone (their journal may say they went out),
-- and so are rows in doubt: a send may have gone out, so the provider is asked first. The reason
-- is milestone_paused when an operator's pause of the milestone held the row back, else
-- missed_window.
update aftercare.touchpoints
set
    status = 'expired',
    reason = case
        when milestone in (select mp.milestone from aftercare.milestone_pauses as mp)
            then 'milestone_paused'
        else 'missed_window'
    end,
    updated_at = current_timestamp
where touchpoint_id in (
        select t.touchpoint_id
        from aftercare.touchpoints as t
        left join staging.candidates as c on c.candidate_id = t.candidate_id
        where t.status = 'planned'
            and not t.in_doubt
            and t.window_end
            < {{ m.local_day('cast(:now as timestamptz)', 'coalesce(c.time_zone, :zone)') }}
            and not {{ m.in_flight('t.touchpoint_id') }}
    );
