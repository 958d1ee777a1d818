-- The ops console's reads (issue 15; timed by benchmarks/console_benchmark.py: every page under
-- 300 ms at 1,000,000 placements needs them). On both warehouses, a provider event by its
-- touchpoint (the candidate page); on Postgres, which scans what no index finds, also the ledger
-- by due date (Today), by candidate (the look-up), its failed rows by time and its rows in doubt
-- (Failures), its sends by time and provider events by time (the rates) and by loading (an
-- engagement run's tab), a candidate by email and mobile, placements and responses by candidate
-- (DuckDB cannot alter a table an index depends on: a later migration altering
-- engagement.delivery_events drops this index first and makes it again.)
create index delivery_events_touchpoint on engagement.delivery_events (touchpoint_id);
{% if dialect == 'postgresql' %}
create index touchpoints_due on aftercare.touchpoints (due_date);
create index touchpoints_candidate on aftercare.touchpoints (candidate_id);
create index touchpoints_failed on aftercare.touchpoints (updated_at) where status = 'failed';
create index touchpoints_in_doubt on aftercare.touchpoints (touchpoint_id) where in_doubt;
create index touchpoints_sent on aftercare.touchpoints (sent_at) where status = 'sent';
create index delivery_events_at on engagement.delivery_events (event_at);
create index delivery_events_loaded on engagement.delivery_events (loaded_at);
create index candidates_email on staging.candidates (lower(email));
create index candidates_mobile on staging.candidates (mobile_e164);
create index placements_candidate on staging.placements (candidate_id);
create index responses_candidate on engagement.responses (candidate_id);
{% endif %}
