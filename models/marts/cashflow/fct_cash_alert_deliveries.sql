{#-
  Every alert notification attempt (Dagster asset cashflow/alert_notifications): which alert, which
  channel, delivered or not. Reading it here also orders the notification step before publishing.
-#}
select
    cast(alert_id as {{ dbt.type_string() }}) as alert_id,
    cast(channel as {{ dbt.type_string() }}) as channel,
    cast(target as {{ dbt.type_string() }}) as target,
    cast(delivered as boolean) as delivered,
    cast(detail as {{ dbt.type_string() }}) as detail,
    cast(notified_at as timestamp) as notified_at,
    cast(run_id as {{ dbt.type_string() }}) as run_id
from {{ source('cashflow', 'alert_deliveries') }}
