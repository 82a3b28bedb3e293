{#-
  Open cash-flow alerts, one row each; the Dagster asset cashflow/alert_notifications sends them and
  the asset check `no_open_cash_alerts` warns while any exist.
    cash_below_floor   the projected balance drops below the cash floor within 30 / 60 / 90 days
    bank_txn_anomaly   a bank line scored >= the anomaly threshold, booked within the look-back window
  Thresholds: macros/workflows/cashflow/cashflow_config.sql (environment first, then dbt vars).
  alert_id is a hash of what the alert is about, so the same problem keeps the same id across runs.
-#}
with

floor_breaches as (
    select
        'cash_below_floor' as alert_type,
        case when horizon_days <= 30 then 'critical' else 'warning' end as severity,
        cast(horizon_days as {{ dbt.type_string() }}) || 'd' as subject_id,
        lowest_balance_date as alert_date,
        cast(lowest_balance_base as {{ type_double() }}) as observed_value,
        cast(cash_floor_base as {{ type_double() }}) as threshold_value,
        'Projected cash ' || cast(round(lowest_balance_base, 0) as {{ dbt.type_string() }}) || ' on '
            || cast(lowest_balance_date as {{ dbt.type_string() }}) || ' is below the floor of '
            || cast(round(cash_floor_base, 0) as {{ dbt.type_string() }}) || ' (' || cast(horizon_days as {{ dbt.type_string() }}) || '-day horizon)'
            as message,
        as_of_date
    from {{ ref('kpi_cashflow__projection_summary') }}
    where is_below_floor
),
latest as (select max(booking_date) as as_of_date from {{ ref('fct_bank_transactions') }}),
anomalies as (
    select
        'bank_txn_anomaly' as alert_type,
        case when scores.anomaly_score >= 0.9 then 'critical' else 'warning' end as severity,
        scores.finance_bank_txn_id as subject_id,
        scores.booking_date as alert_date,
        scores.anomaly_score as observed_value,
        cast({{ cashflow_anomaly_threshold() }} as {{ type_double() }}) as threshold_value,
        'Bank line ' || scores.finance_bank_txn_id || ' (' || cast(scores.amount_base as {{ dbt.type_string() }}) || ' on '
            || cast(scores.booking_date as {{ dbt.type_string() }}) || '): ' || coalesce(scores.anomaly_reason, 'unusual') as message,
        latest.as_of_date
    from {{ ref('fct_bank_txn_anomaly_scores') }} as scores
    cross join latest
    where scores.is_flagged
        and scores.booking_date > {{ add_days('latest.as_of_date', -cashflow_alert_lookback_days()) }}
),
alerts as (
    select * from floor_breaches
    union all
    select * from anomalies
)

select
    cast({{ hash_pii("alert_type || ':' || subject_id || ':' || cast(alert_date as " ~ dbt.type_string() ~ ")") }}
        as {{ dbt.type_string() }}) as alert_id,
    cast(alert_type as {{ dbt.type_string() }}) as alert_type,
    cast(severity as {{ dbt.type_string() }}) as severity,
    cast(subject_id as {{ dbt.type_string() }}) as subject_id,
    cast(alert_date as date) as alert_date,
    cast(observed_value as {{ type_double() }}) as observed_value,
    cast(threshold_value as {{ type_double() }}) as threshold_value,
    cast(message as {{ dbt.type_string() }}) as message,
    cast(as_of_date as date) as as_of_date
from alerts
