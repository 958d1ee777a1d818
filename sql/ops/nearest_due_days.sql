-- the nearest local due dates before and after :day that hold touchpoints (null: none)
select
    (
        select max(t.due_date) from aftercare.touchpoints as t
        where t.due_date < cast(:day as date)
    ) as earlier_day,
    (
        select min(t.due_date) from aftercare.touchpoints as t
        where t.due_date > cast(:day as date)
    ) as later_day
