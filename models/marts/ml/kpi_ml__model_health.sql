{#-
  Health of every registered model version (all ML workflows, from the registry mirror): its gate
  status and backtest metrics, the latest drift verdict for the model, and matured accuracy.
  health_status: drifting (latest monitoring run flagged dataset drift for the champion), degraded
  (matured WAPE more than 25% worse than the backtest promised), unmonitored (no drift run yet for a
  champion), else ok. Non-champion versions are 'inactive'.
-#}
with

registry as (select * from {{ source('ml', 'model_registry') }}),

metrics as (
    select
        model_name, model_version,
        max(case when metric_name = 'backtest_wape' then metric_value end) as backtest_wape,
        max(case when metric_name = 'baseline_wape' then metric_value end) as baseline_wape,
        max(case when metric_name = 'backtest_interval_coverage' then metric_value end) as backtest_interval_coverage
    from {{ source('ml', 'model_registry_metrics') }}
    group by model_name, model_version
),

latest_drift_run as (
    select distinct model_name, dagster_run_id from (
        select model_name, dagster_run_id,
            rank() over (partition by model_name order by computed_at desc nulls last) as recency
        from {{ source('ml', 'drift_metrics') }}
    ) as ranked
    where recency = 1
),

drift as (
    select
        d.model_name,
        max(d.computed_at) as last_drift_check_at,
        max(case when d.column_name = '__dataset__' and d.drift_kind = 'feature' then {{ bool_to_int('d.drifted') }} end) = 1
            as feature_drift_detected,
        avg(case when d.drift_kind = 'feature' and d.column_name <> '__dataset__'
            then cast({{ bool_to_int('d.drifted') }} as {{ type_double() }}) end) as drifted_feature_share,
        max(case when d.drift_kind = 'prediction' then {{ bool_to_int('d.drifted') }} end) = 1 as prediction_drift_detected
    from {{ source('ml', 'drift_metrics') }} as d
    inner join latest_drift_run as l on l.model_name = d.model_name and l.dagster_run_id = d.dagster_run_id
    group by d.model_name
),

matured as (
    select model_name, model_version,
           sum(wape * n_points) / nullif(sum(n_points), 0) as matured_wape, sum(n_points) as matured_points
    from {{ ref('kpi_forecasting__accuracy') }}
    where evaluation_source = 'matured'
    group by model_name, model_version
)

select
    cast(registry.model_name as {{ dbt.type_string() }}) as model_name,
    cast(registry.model_version as {{ dbt.type_string() }}) as model_version,
    cast(registry.is_champion as boolean) as is_champion,
    cast(registry.gate_status as {{ dbt.type_string() }}) as gate_status,
    cast(registry.created_at as timestamp) as registered_at,
    cast(registry.training_window_end as date) as training_window_end,
    cast(metrics.backtest_wape as {{ type_double() }}) as backtest_wape,
    cast(metrics.baseline_wape as {{ type_double() }}) as baseline_wape,
    cast(metrics.backtest_interval_coverage as {{ type_double() }}) as backtest_interval_coverage,
    cast(matured.matured_wape as {{ type_double() }}) as matured_wape,
    cast(coalesce(matured.matured_points, 0) as bigint) as matured_points,
    cast(drift.last_drift_check_at as timestamp) as last_drift_check_at,
    cast(drift.feature_drift_detected as boolean) as feature_drift_detected,
    cast(drift.drifted_feature_share as {{ type_double() }}) as drifted_feature_share,
    cast(drift.prediction_drift_detected as boolean) as prediction_drift_detected,
    cast(
        case
            when not registry.is_champion then 'inactive'
            when drift.feature_drift_detected or drift.prediction_drift_detected then 'drifting'
            when matured.matured_wape > 1.25 * metrics.backtest_wape then 'degraded'
            when drift.model_name is null then 'unmonitored'
            else 'ok'
        end as {{ dbt.type_string() }}
    ) as health_status
from registry
left join metrics on metrics.model_name = registry.model_name and metrics.model_version = registry.model_version
left join matured on matured.model_name = registry.model_name and matured.model_version = registry.model_version
left join drift on drift.model_name = registry.model_name and registry.is_champion
