-- the warehouse layers, in data-flow order (see DESIGN.md, "Data flow")
create schema if not exists raw;         -- append-only copies of what the ATS returned
create schema if not exists staging;     -- latest valid version of each record
create schema if not exists quality;     -- quarantine and validation results
create schema if not exists aftercare;   -- the touchpoint ledger, suppressions, run summaries
create schema if not exists engagement;  -- delivery events and responses from providers
create schema if not exists marts;       -- reporting tables for analysts
