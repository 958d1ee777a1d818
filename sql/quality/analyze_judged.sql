-- quality.quarantine and quality.field_findings: their statistics brought up to date after a
-- chunk wrote to them, so that the next chunk's statements are planned for the rows they hold.
-- Postgres does not analyse them within a run: at a first full load of 1,000,000 placements,
-- planned on the statistics of the empty tables, release_judged.sql compared each quarantine
-- row with the whole judged list (100,000 texts): about three minutes in one chunk
analyze quality.quarantine;

analyze quality.field_findings
