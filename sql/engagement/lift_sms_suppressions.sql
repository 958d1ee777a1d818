{% import "macros.sql" as m with context %}
-- aftercare.suppressions: a START from a number (:numbers, a json array of {from_number,
-- occurred_at}) lifts the sms suppression of its candidate when it came after their last sms
-- opt-out (a STOP reply; a provider's refusal counts as before any START). Only suppressions
-- the engagement or dispatch stages made: an opt-out recorded elsewhere stays.
delete from aftercare.suppressions as s
where s.channel = 'sms'
    and s.source in ('engagement', 'dispatch')
    and exists (
        select 1
        from {{ m.json_rows('numbers') }} as n
        inner join staging.candidates as c on c.mobile_e164 = n.value ->> 'from_number'
        where c.candidate_id = s.candidate_id
            and cast(n.value ->> 'occurred_at' as timestamptz) > coalesce(
                (
                    select max(r.occurred_at)
                    from engagement.responses as r
                    where r.candidate_id = s.candidate_id
                        and r.kind = 'opt_out'
                        and r.detail ->> 'channel' = 'sms'
                ),
                cast('1900-01-01T00:00:00Z' as timestamptz)
            )
    )
