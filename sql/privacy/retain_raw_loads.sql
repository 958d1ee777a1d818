-- retention: the records (raw.*) and normalised versions (staging.*_changes) of loads staged
-- before :cutoff; staging holds the latest valid version of each record, all the plan reads.
-- Loads not yet staged are kept, and raw.loads (counts only) with them.
{% for table in ('raw.candidates', 'raw.placements', 'staging.candidate_changes',
    'staging.placement_changes') %}
delete from {{ table }}
where load_id in (
        select l.load_id from raw.loads as l
        where l.staged_at < cast(:cutoff as timestamptz)
    );
{% endfor %}
