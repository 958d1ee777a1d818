-- one row per applied migration
select
    version,
    name,
    checksum
from aftercare.schema_migrations
order by version
