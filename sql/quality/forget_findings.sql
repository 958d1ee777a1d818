{% import "macros.sql" as m with context %}
-- quality.field_findings: the findings of the records this chunk judged again, for the same loads
-- (:judged, a json array of 'id/load_id' texts), are forgotten; record_findings.sql writes what
-- the judgement found now, in the same transaction
delete from quality.field_findings
where entity = :entity
    and record_id || '/' || load_id in {{ m.json_texts('judged') }}
