-- engagement.watermarks: move one feed's cursor (in the transaction that stored what it read)
insert into engagement.watermarks (feed, cursor, updated_at)
values (:feed, :cursor, current_timestamp)
on conflict (feed) do update set cursor = excluded.cursor, updated_at = excluded.updated_at
