{#-
  Support triage KPIs per ticket creation month.
    avg/median_resolution_hours       over resolved tickets (resolved_at - created_at)
    first_contact_resolution_rate     resolved with contact_count = 1 / resolved
    share_auto_triaged                tickets routed to a team (not human_review) / tickets with a prediction
    holdout_category_accuracy         predicted = desk category on the held-out desk-labelled tickets
    holdout_priority_accuracy         same for priority
-#}
with

tickets as (select * from {{ ref('fct_support_tickets') }}),
routing as (select * from {{ ref('fct_ticket_triage') }})

select
    cast({{ month_start('tickets.created_at') }} as date) as month_start,
    cast(count(*) as integer) as n_tickets,
    cast(avg(tickets.resolution_hours) as {{ type_double() }}) as avg_resolution_hours,
    cast({{ median('tickets.resolution_hours') }} as {{ type_double() }}) as median_resolution_hours,
    cast(sum(case when tickets.is_first_contact_resolution then 1 else 0 end) * 1.0
        / nullif(sum(case when tickets.is_resolved then 1 else 0 end), 0) as {{ type_double() }}) as first_contact_resolution_rate,
    cast(count(routing.support_ticket_id) as integer) as n_triaged,
    cast(sum(case when routing.is_auto_triaged then 1 else 0 end) * 1.0
        / nullif(count(routing.support_ticket_id), 0) as {{ type_double() }}) as share_auto_triaged,
    cast(sum(case when routing.label_split = 'holdout' then 1 else 0 end) as integer) as n_holdout,
    cast(sum(case when routing.label_split = 'holdout' and routing.predicted_category = routing.desk_category then 1 else 0 end) * 1.0
        / nullif(sum(case when routing.label_split = 'holdout' then 1 else 0 end), 0) as {{ type_double() }}) as holdout_category_accuracy,
    cast(sum(case when routing.label_split = 'holdout' and routing.predicted_priority = routing.desk_priority then 1 else 0 end) * 1.0
        / nullif(sum(case when routing.label_split = 'holdout' and routing.desk_priority is not null then 1 else 0 end), 0)
        as {{ type_double() }}) as holdout_priority_accuracy
from tickets
left join routing on routing.support_ticket_id = tickets.support_ticket_id
group by 1
