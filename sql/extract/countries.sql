-- the ATS's country table as the warehouse holds it: country id -> the ATS's code
select
    country_id,
    code
from staging.ats_countries
