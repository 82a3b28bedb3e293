{#-
  Forecast accuracy per model version and evaluation window, from two sources:
  - matured: served forecasts (ml.demand_forecast_log) joined to the actuals that have since arrived
    (int_forecasting__demand_features, is_future = false), one window per forecast origin; a baseline that
    served appears as model_version baseline:<name>;
  - shadow: the same for a challenger's shadow forecasts (ml.demand_forecast_shadow_log), never served;
  - backtest: the rolling-origin backtest the training run logged (ml.forecast_quality), latest per window.
  WAPE = sum|actual - forecast| / sum actual; bias = sum(forecast - actual) / sum actual;
  MAPE over days with actual > 0; coverage = share of actuals inside [lower, upper].
-#}
with

actuals as (
    select sku, location_id, demand_date, quantity
    from {{ ref('int_forecasting__demand_features') }}
    where not is_future
),

logged as (
    -- served forecasts and a challenger's shadow forecasts: the same columns, told apart by evaluation_source
    select
        'matured' as evaluation_source, model_name, model_version, origin_date, sku, location_id, forecast_date,
        prediction, lower, upper
    from {{ source('ml', 'demand_forecast_log') }}
    union all
    select
        'shadow' as evaluation_source, model_name, model_version, origin_date, sku, location_id, forecast_date,
        prediction, lower, upper
    from {{ source('ml', 'demand_forecast_shadow_log') }}
),

matured_and_shadow as (
    select
        log.model_name, log.model_version, log.evaluation_source,
        min(log.forecast_date) as window_start, max(log.forecast_date) as window_end,
        count(*) as n_points,
        sum(abs(actuals.quantity - log.prediction)) / nullif(sum(actuals.quantity), 0) as wape,
        sum(log.prediction - actuals.quantity) / nullif(sum(actuals.quantity), 0) as bias,
        avg(case when actuals.quantity > 0 then abs(actuals.quantity - log.prediction) / actuals.quantity end) as mape,
        avg(case when actuals.quantity between log.lower and log.upper then 1.0 else 0.0 end) as interval_coverage
    from logged as log
    inner join actuals
        on actuals.sku = log.sku and actuals.location_id = log.location_id and actuals.demand_date = log.forecast_date
    group by log.evaluation_source, log.model_name, log.model_version, log.origin_date
),

backtest_latest as (
    select * from (
        select
            q.*,
            rank() over (partition by model_name, model_version, window_start order by computed_at desc nulls last)
                as recency
        from {{ source('ml', 'forecast_quality') }} as q
        where evaluation_source = 'backtest'
    ) as ranked
    where recency = 1
),

backtest as (
    select
        model_name, model_version, 'backtest' as evaluation_source, window_start, max(window_end) as window_end,
        max(n_points) as n_points,
        max(case when metric_name = 'wape' then metric_value end) as wape,
        max(case when metric_name = 'bias' then metric_value end) as bias,
        max(case when metric_name = 'mape' then metric_value end) as mape,
        max(case when metric_name = 'interval_coverage' then metric_value end) as interval_coverage
    from backtest_latest
    group by model_name, model_version, window_start
),

unioned as (
    select * from matured_and_shadow
    union all
    select * from backtest
)

select
    cast(model_name as {{ dbt.type_string() }}) as model_name,
    cast(model_version as {{ dbt.type_string() }}) as model_version,
    cast(evaluation_source as {{ dbt.type_string() }}) as evaluation_source,
    cast(window_start as date) as window_start,
    cast(window_end as date) as window_end,
    cast(n_points as bigint) as n_points,
    cast(wape as {{ type_double() }}) as wape,
    cast(bias as {{ type_double() }}) as bias,
    cast(mape as {{ type_double() }}) as mape,
    cast(interval_coverage as {{ type_double() }}) as interval_coverage
from unioned
