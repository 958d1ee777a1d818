-- the ATS write-back (issue: Real Bullhorn): a note on the candidate's record for each
-- touchpoint sent, made once, and recorded where the follow-ups are

-- engagement.actions: one row per action made in the ATS for something of ours, so none is
-- made twice: a follow-up for a response (a recruiter call task after a negative reply, a note
-- after an availability answer) or a note for a sent touchpoint; or one the ATS refused for
-- good (the candidate gone, say): then no id, and the reason. source_id is the response's id
-- (call_task, note) or the touchpoint's (touchpoint_note).
{% if dialect == 'postgresql' %}
-- altered in place: the table keeps its grants
alter table engagement.actions rename column response_id to source_id;
alter table engagement.actions drop constraint actions_action_check;
alter table engagement.actions add constraint actions_action_check
    check (action in ('call_task', 'note', 'touchpoint_note'));
alter table engagement.actions drop constraint actions_pkey;
alter table engagement.actions add primary key (source_id, action);
{% else %}
-- rebuilt: DuckDB can change neither a check nor a key
create table engagement.actions_0015 (
    source_id varchar not null,
    action varchar not null check (action in ('call_task', 'note', 'touchpoint_note')),
    ats_id bigint,
    failed_reason varchar,
    done_at timestamptz not null default current_timestamp,
    primary key (source_id, action),
    check (ats_id is not null or failed_reason is not null)
);
insert into engagement.actions_0015 (source_id, action, ats_id, failed_reason, done_at)
select response_id, action, ats_id, failed_reason, done_at from engagement.actions;
drop table engagement.actions;
alter table engagement.actions_0015 rename to actions;
{% endif %}
