-- the latest local date a plan run decided, what that run saw of staging and the settings it
-- ran with (no row before the first run)
select
    plan_date as latest,
    snapshot_at,
    config_digest
from aftercare.plan_runs
order by plan_date desc
limit 1
