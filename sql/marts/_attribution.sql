{#- the CTE `ranked_placements`: each candidate's placements, the latest (by start date) first
    (placement_rank 1), for what has no placement of its own -#}
{% macro ranked_placements() -%}
ranked_placements as (
    select
        candidate_id,
        placement_id,
        row_number() over (
            partition by candidate_id order by start_date desc, placement_id desc
        ) as placement_rank
    from staging.placements
)
{%- endmacro %}

{#- the marts of responses (reviews, referrals): the CTEs `ranked_placements` and `attributed`,
    the responses of CTE `source` with their touchpoint (milestone, channel, sent_at) and
    placement: the touchpoint's, else the latest placement of the candidate in column
    `candidate` (placement_source says which) -#}
{% macro attributed(source, candidate) -%}
{{ ranked_placements() }},

attributed as (
    select
        r.*,
        t.milestone,
        t.channel,
        t.sent_at,
        coalesce(t.placement_id, lp.placement_id) as placement_id,
        case
            when t.placement_id is not null then 'touchpoint'
            when lp.placement_id is not null then 'latest_placement'
        end as placement_source
    from {{ source }} as r
    left join aftercare.touchpoints as t on t.touchpoint_id = r.touchpoint_id
    left join ranked_placements as lp
        on lp.candidate_id = r.{{ candidate }} and lp.placement_rank = 1
){%- endmacro %}
