{% import "ops/_touchpoints.sql" as t %}
-- every touchpoint of candidate :candidate_id
{% call t.listed() %}t.candidate_id = :candidate_id{% endcall %}
