-- aftercare.plan_runs: the run for local date :plan_date decided (again)
insert into aftercare.plan_runs (plan_date)
values (cast(:plan_date as date))
on conflict (plan_date) do update
set planned_at = excluded.planned_at
