-- aftercare.suppressions gains the channel 'marketing' (issue: consent and privacy): a
-- candidate who asked to stop marketing messages only. Milestones whose purpose is marketing
-- (config: planning.milestones.<name>.purpose) are not sent to them; service messages still are.
{% if dialect == 'postgresql' %}
-- altered in place: the table keeps its grants
alter table aftercare.suppressions drop constraint suppressions_channel_check;
alter table aftercare.suppressions add constraint suppressions_channel_check
    check (channel in ('email', 'sms', 'all', 'marketing'));
{% else %}
-- rebuilt: DuckDB can change neither a check nor a key
create table aftercare.suppressions_0018 (
    candidate_id bigint not null,
    channel varchar not null check (channel in ('email', 'sms', 'all', 'marketing')),
    reason varchar not null,
    source varchar not null,
    created_at timestamptz not null default current_timestamp,
    primary key (candidate_id, channel)
);
insert into aftercare.suppressions_0018 (candidate_id, channel, reason, source, created_at)
select candidate_id, channel, reason, source, created_at from aftercare.suppressions;
drop table aftercare.suppressions;
alter table aftercare.suppressions_0018 rename to suppressions;
{% endif %}
