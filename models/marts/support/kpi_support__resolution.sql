{#-
  Support KPIs per ticket creation month.
    avg/median_resolution_hours     over resolved tickets: resolved_at - created_at
    first_contact_resolution_rate   = resolved tickets with contact_count = 1 / resolved tickets
-#}
select
    cast({{ month_start('created_at') }} as date) as month_start,
    cast(count(*) as integer) as n_tickets,
    cast(sum(case when is_resolved then 1 else 0 end) as integer) as n_resolved,
    cast(avg(resolution_hours) as {{ type_double() }}) as avg_resolution_hours,
    cast({{ median('resolution_hours') }} as {{ type_double() }}) as median_resolution_hours,
    cast(avg(first_response_hours) as {{ type_double() }}) as avg_first_response_hours,
    cast(sum(case when is_first_contact_resolution then 1 else 0 end) * 1.0
        / nullif(sum(case when is_resolved then 1 else 0 end), 0) as {{ type_double() }}) as first_contact_resolution_rate
from {{ ref('fct_support_tickets') }}
group by 1
