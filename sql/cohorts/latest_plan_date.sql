-- one row: the latest local date a plan run decided (null before the first)
select max(plan_date) as latest
from aftercare.plan_runs
