-- a DuckDB checkpoint: the write-ahead log folded into the database file (before the file is
-- copied as the readers' snapshot)
checkpoint
