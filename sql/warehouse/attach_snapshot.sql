-- a reader's connection (an in-memory DuckDB of its own) on the snapshot file (:path), read
-- only: attached, not opened, so that each connection reads the file the path names when it
-- connects (DuckDB shares one open database per path in a process: a connection opened on the
-- path would get the file an older reader still holds, not the one published since). sqlfluff's
-- DuckDB dialect does not parse attach
attach :path as snapshot (read_only);  -- noqa: PRS

use snapshot
