-- the preferences service (issue: consent and privacy): an opt-out from email written back to
-- the ATS (Bullhorn Candidate.massMailOptOut), once, recorded where the follow-ups are.
-- engagement.actions gains the action 'mass_mail_opt_out' (source_id: the opt-out's response id).
{% if dialect == 'postgresql' %}
-- altered in place: the table keeps its grants
alter table engagement.actions drop constraint actions_action_check;
alter table engagement.actions add constraint actions_action_check
    check (action in ('call_task', 'note', 'touchpoint_note', 'mass_mail_opt_out'));
{% else %}
-- rebuilt: DuckDB can change neither a check nor a key
create table engagement.actions_0019 (
    source_id varchar not null,
    action varchar not null
        check (action in ('call_task', 'note', 'touchpoint_note', 'mass_mail_opt_out')),
    ats_id bigint,
    failed_reason varchar,
    done_at timestamptz not null default current_timestamp,
    primary key (source_id, action),
    check (ats_id is not null or failed_reason is not null)
);
insert into engagement.actions_0019 (source_id, action, ats_id, failed_reason, done_at)
select source_id, action, ats_id, failed_reason, done_at from engagement.actions;
drop table engagement.actions;
alter table engagement.actions_0019 rename to actions;
{% endif %}
