-- one row per record of chunk :chunk of the rows collected for a row suite ({{ table }}, a
-- temporary table of this session), in id order
select *
from {{ table }}
where chunk = :chunk
order by {{ key }}
