-- one row per applied migration
insert into aftercare.schema_migrations (version, name, checksum)
values (:version, :name, :checksum)
