-- whether anyone was ever erased (the extract hashes what it pulls only then)
select exists(select 1 from aftercare.erased_subjects) as any_erased
