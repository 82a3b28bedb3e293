{#-
  Daily demand per (SKU, location) with everything the demand forecaster learns from, in SQL.

  Grain: one row per series (sku, location_id) and day, from the series' first sale to the warehouse's
  last order date (is_future = false, quantity 0 on days without orders), then
  var('forecast_horizon_days') days beyond it (is_future = true, quantity null) so scoring reads the
  calendar / promotion / price features of the days it forecasts from this same model.

  hist_* columns describe the series "as of the end of that day" (windows over rows up to and including
  it): the forecaster uses them from the forecast origin row. Target-side columns (calendar, promo,
  price, same-weekday lags >= 28 days) belong to the forecast day itself and are known in advance.
-#}
{%- set horizon = var('forecast_horizon_days', 28) -%}
with

lines as (
    select sku, location_id, order_date, quantity
    from {{ ref('fct_sales_order_lines') }}
    where order_status <> 'cancelled' and location_id is not null and order_date is not null
),

bounds as (select max(order_date) as last_actual_date from lines),

series as (
    select sku, location_id, min(order_date) as first_date
    from lines
    group by sku, location_id
),

daily as (
    select sku, location_id, order_date as demand_date, sum(quantity) as quantity
    from lines
    group by sku, location_id, order_date
),

spine as (
    select series.sku, series.location_id, calendar.date_day as demand_date,
           calendar.date_day > bounds.last_actual_date as is_future,
           calendar.iso_day_of_week, calendar.iso_week, calendar.month_number, calendar.is_weekend
    from series
    cross join bounds
    inner join {{ ref('dim_date') }} as calendar
        on calendar.date_day >= series.first_date
        and calendar.date_day <= {{ add_days('bounds.last_actual_date', horizon) }}
),

promotions as (
    select spine.sku, spine.demand_date, max(promo.discount_pct) as promo_discount_pct
    from spine
    inner join {{ ref('stg_crm__promotions') }} as promo
        on promo.sku = spine.sku and spine.demand_date between promo.start_date and promo.end_date
    group by spine.sku, spine.demand_date
),

-- Weekly snapshots: each one describes stock from its date until the next snapshot (or onwards), so a day
-- takes the latest snapshot on or before it: an as-of join (macro asof_join_latest, sort-based). The range
-- condition it replaces made DuckDB run a nested-loop join (217 s at scale 1, now 9 s; same rows).
snapshots as (
    select sku, location_id, snapshot_date, on_hand_qty
    from {{ ref('fct_inventory_snapshots') }}
),

spine_stock as (
    {{ asof_join_latest('spine', 'snapshots', ['sku', 'location_id'], 'demand_date', 'snapshot_date', ['on_hand_qty']) }}
),

joined as (
    select
        spine_stock.sku, spine_stock.location_id, spine_stock.demand_date, spine_stock.is_future,
        spine_stock.iso_day_of_week, spine_stock.iso_week, spine_stock.month_number, spine_stock.is_weekend,
        case when spine_stock.is_future then null else coalesce(daily.quantity, 0) end as quantity,
        promotions.promo_discount_pct,
        spine_stock.on_hand_qty as on_hand_last_snapshot,
        products.category,
        products.unit_price_base
    from spine_stock
    left join daily
        on daily.sku = spine_stock.sku and daily.location_id = spine_stock.location_id
        and daily.demand_date = spine_stock.demand_date
    left join promotions on promotions.sku = spine_stock.sku and promotions.demand_date = spine_stock.demand_date
    left join {{ ref('dim_product') }} as products on products.sku = spine_stock.sku
),

windowed as (
    select
        joined.*,
        avg(quantity) over (partition by sku, location_id order by demand_date rows between 6 preceding and current row) as hist_mean_7d,
        avg(quantity) over (partition by sku, location_id order by demand_date rows between 27 preceding and current row) as hist_mean_28d,
        avg(quantity) over (partition by sku, location_id order by demand_date rows between 90 preceding and current row) as hist_mean_91d,
        stddev_samp(quantity) over (partition by sku, location_id order by demand_date rows between 27 preceding and current row) as hist_std_28d,
        avg(case when quantity > 0 then 1.0 when quantity = 0 then 0.0 end)
            over (partition by sku, location_id order by demand_date rows between 27 preceding and current row) as hist_nonzero_share_28d,
        sum(case when is_weekend then quantity else 0 end)
            over (partition by sku, location_id order by demand_date rows between 27 preceding and current row) as weekend_units_28d,
        sum(quantity) over (partition by sku, location_id order by demand_date rows between 27 preceding and current row) as units_28d,
        lag(quantity, 7) over (partition by sku, location_id order by demand_date) as qty_lag_7d,
        lag(quantity, 14) over (partition by sku, location_id order by demand_date) as qty_lag_14d,
        lag(quantity, 21) over (partition by sku, location_id order by demand_date) as qty_lag_21d,
        lag(quantity, 28) over (partition by sku, location_id order by demand_date) as qty_lag_28d,
        lag(quantity, 35) over (partition by sku, location_id order by demand_date) as qty_lag_35d,
        lag(quantity, 42) over (partition by sku, location_id order by demand_date) as qty_lag_42d,
        lag(quantity, 49) over (partition by sku, location_id order by demand_date) as qty_lag_49d
    from joined
)

select
    cast(sku as {{ dbt.type_string() }}) as sku,
    cast(location_id as {{ dbt.type_string() }}) as location_id,
    cast(demand_date as date) as demand_date,
    cast(is_future as boolean) as is_future,
    cast(quantity as {{ type_double() }}) as quantity,
    cast(category as {{ dbt.type_string() }}) as category,
    cast(iso_day_of_week as integer) as iso_day_of_week,
    cast(iso_week as integer) as iso_week,
    cast(month_number as integer) as month_number,
    cast(is_weekend as boolean) as is_weekend,
    cast(promo_discount_pct is not null as boolean) as promo_active,
    cast(coalesce(promo_discount_pct, 0) as {{ type_double() }}) as promo_discount_pct,
    cast(unit_price_base as {{ type_double() }}) as unit_price_base,
    cast(unit_price_base * (1 - coalesce(promo_discount_pct, 0) / 100.0) as {{ type_double() }}) as effective_price_base,
    cast(on_hand_last_snapshot as bigint) as on_hand_last_snapshot,
    cast(coalesce(on_hand_last_snapshot <= 0, false) as boolean) as stocked_out,
    cast((qty_lag_28d + qty_lag_35d + qty_lag_42d + qty_lag_49d) / 4.0 as {{ type_double() }}) as same_dow_mean_lag28_4w,
    cast(qty_lag_7d as {{ type_double() }}) as qty_lag_7d,
    cast(qty_lag_14d as {{ type_double() }}) as qty_lag_14d,
    cast(qty_lag_21d as {{ type_double() }}) as qty_lag_21d,
    cast(qty_lag_28d as {{ type_double() }}) as qty_lag_28d,
    cast(case when is_future then null else hist_mean_7d end as {{ type_double() }}) as hist_mean_7d,
    cast(case when is_future then null else hist_mean_28d end as {{ type_double() }}) as hist_mean_28d,
    cast(case when is_future then null else hist_mean_91d end as {{ type_double() }}) as hist_mean_91d,
    cast(case when is_future then null else hist_std_28d end as {{ type_double() }}) as hist_std_28d,
    cast(case when is_future then null else hist_nonzero_share_28d end as {{ type_double() }}) as hist_nonzero_share_28d,
    cast(case when is_future then null else coalesce(weekend_units_28d / nullif(units_28d, 0), 0) end as {{ type_double() }})
        as hist_weekend_share_28d
from windowed
