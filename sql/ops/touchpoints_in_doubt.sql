{% import "ops/_touchpoints.sql" as t %}
-- the rows in doubt (a send that may have left without our knowing), whatever their due date
{% call t.listed() %}t.in_doubt{% endcall %}
