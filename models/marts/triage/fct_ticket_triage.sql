{#-
  One row per ticket: the triage suggestion (category, priority, team or human review) with the unified
  customer / product and the top-3 KB articles, and what served it: the model versions (or
  baseline:all_to_person), whether that was a fallback from a refused candidate, and the run's mode
  (all_to_person while the triage circuit breaker is open: nothing auto-routed). No free text or personal data.
-#}
with

kb as (
    select support_ticket_id,
        max(case when suggestion_rank = 1 then support_article_id end) as kb_article_1,
        max(case when suggestion_rank = 2 then support_article_id end) as kb_article_2,
        max(case when suggestion_rank = 3 then support_article_id end) as kb_article_3
    from {{ source('triage', 'kb_suggestions') }}
    group by support_ticket_id
),

-- one row (the run that triaged); none after a plain `dbt build` without the Python asset
run_state as (select serving, is_fallback, mode from {{ source('triage', 'triage_state') }})

select
    cast(p.support_ticket_id as {{ dbt.type_string() }}) as support_ticket_id,
    cast(fct.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(fct.product_id as {{ dbt.type_string() }}) as product_id,
    cast(fct.created_at as timestamp) as created_at,
    cast(p.predicted_category as {{ dbt.type_string() }}) as predicted_category,
    cast(p.category_confidence as {{ type_double() }}) as category_confidence,
    cast(p.predicted_priority as {{ dbt.type_string() }}) as predicted_priority,
    cast(p.priority_confidence as {{ type_double() }}) as priority_confidence,
    cast(p.suggested_team as {{ dbt.type_string() }}) as suggested_team,
    cast(p.route as {{ dbt.type_string() }}) as route,
    cast(p.is_auto_triaged as boolean) as is_auto_triaged,
    cast(p.label_split as {{ dbt.type_string() }}) as label_split,
    cast(p.desk_category as {{ dbt.type_string() }}) as desk_category,
    cast(p.desk_priority as {{ dbt.type_string() }}) as desk_priority,
    cast(kb.kb_article_1 as {{ dbt.type_string() }}) as kb_article_1,
    cast(kb.kb_article_2 as {{ dbt.type_string() }}) as kb_article_2,
    cast(kb.kb_article_3 as {{ dbt.type_string() }}) as kb_article_3,
    cast(p.category_model_version as {{ dbt.type_string() }}) as category_model_version,
    cast(p.priority_model_version as {{ dbt.type_string() }}) as priority_model_version,
    cast(coalesce(run_state.serving, 'none') as {{ dbt.type_string() }}) as serving,
    cast(coalesce(run_state.is_fallback, false) as boolean) as is_fallback,
    cast(coalesce(run_state.mode, 'normal') as {{ dbt.type_string() }}) as run_mode
from {{ source('triage', 'ticket_predictions') }} as p
inner join {{ ref('fct_support_tickets') }} as fct on fct.support_ticket_id = p.support_ticket_id
left join kb on kb.support_ticket_id = p.support_ticket_id
left join run_state on 1 = 1
