-- retention: the GX validation results recorded before :cutoff (ids and counts)
delete from quality.validation_runs
where validated_at < cast(:cutoff as timestamptz)
