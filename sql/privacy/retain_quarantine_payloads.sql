-- retention: the failed version a quarantine row keeps, once quarantined before :cutoff (the
-- row stays: its reasons, and the hold an open row puts on planning)
update quality.quarantine
set payload = null
where quarantined_at < cast(:cutoff as timestamptz) and payload is not null
