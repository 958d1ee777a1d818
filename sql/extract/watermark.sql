-- one row (or none): the feed position of an entity after its last stored page
select
    date_last_modified_ms,
    record_id
from raw.watermarks
where entity = :entity
