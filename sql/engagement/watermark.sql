-- the cursor of one engagement feed (no row: never read)
select cursor from engagement.watermarks where feed = :feed
