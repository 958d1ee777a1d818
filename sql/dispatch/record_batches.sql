{% import "macros.sql" as m with context %}
-- aftercare.dispatch_batches and dispatch_items: the batch files a dispatch run just wrote
-- (:batches, a json array of {batch_id, channel, path, count, dry_run}; the items, one
-- {batch_id, touchpoint_id} per touchpoint in them); from here on their touchpoints are in
-- flight
insert into aftercare.dispatch_batches (batch_id, run_id, channel, path, touchpoints, dry_run)
select
    value ->> 'batch_id',
    :run_id,
    value ->> 'channel',
    value ->> 'path',
    cast(value ->> 'count' as integer),
    cast(:dry_run as boolean)
from {{ m.json_rows('batches') }};

insert into aftercare.dispatch_items (batch_id, touchpoint_id)
select
    value ->> 'batch_id',
    value ->> 'touchpoint_id'
from {{ m.json_rows('items') }};
