-- What can have changed since the latest run: after a run for `last_plan_date` (same settings
-- and SQL) that saw staging up to `since`, an occurrence in reach is new to this run only when
-- it falls due after that date, or when its subject was staged since or has a planned row in
-- the ledger; every other occurrence in reach was decided by an earlier run (it is in the
-- ledger) or could not concern it then or now. A run without them (the first, new settings or
-- SQL, a full refresh) looks at every subject over the whole reach. Temporary tables:
--   plan_reach             the days back an occurrence of each milestone can be new to this
--                          run (its full reach, or the days since `last_plan_date` when fewer)
--   plan_changed_subjects  the subjects looked at over the whole reach of a milestone, not
--                          only for what fell due since the last run: the ones staged since it
--                          saw staging (for a candidate milestone, the candidate or one of
--                          their placements), and the subjects of the ledger's planned rows
drop table if exists plan_reach;

create temp table plan_reach as
select
    ms.milestone,
    cast(least(
        ms.full_reach,
        coalesce(cast(:plan_date as date) - cast(:last_plan_date as date), ms.full_reach)
    ) as integer) as reach
from plan_milestones as ms;

drop table if exists plan_changed_subjects;

create temp table plan_changed_subjects as
select
    ms.milestone,
    p.placement_id as subject_id
from plan_milestones as ms
inner join staging.placements as p on ms.subject = 'placement'
where p.loaded_at >= cast(:since as timestamptz)
union
select
    ms.milestone,
    c.candidate_id
from plan_milestones as ms
inner join staging.candidates as c on ms.subject = 'candidate'
where c.loaded_at >= cast(:since as timestamptz)
union
select
    ms.milestone,
    p.candidate_id
from plan_milestones as ms
inner join staging.placements as p on ms.subject = 'candidate'
where p.loaded_at >= cast(:since as timestamptz)
union
select
    milestone,
    subject_id
from plan_open_ledger;
