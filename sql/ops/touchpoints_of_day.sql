{% import "ops/_touchpoints.sql" as t %}
-- the rows behind a count of the Today page: due on :day, of :milestone, on :channel ('none':
-- without one) and in :status (each null: any)
{% call t.listed() %}t.due_date = cast(:day as date)
    and (cast(:milestone as varchar) is null or t.milestone = :milestone)
    and (cast(:channel as varchar) is null or coalesce(t.channel, 'none') = :channel)
    and (cast(:status as varchar) is null or t.status = :status){% endcall %}
