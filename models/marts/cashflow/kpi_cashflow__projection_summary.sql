{#-
  The projection at the 30 / 60 / 90-day horizons: balance at the horizon, the lowest balance on the
  way there, and whether it breaks the configured cash floor (cashflow_cash_floor_base(): env
  SMB_CASH_FLOOR_BASE, var cash_floor_base, default 0).
-#}
with

projection as (select * from {{ ref('fct_cash_projection') }}),
horizons as (
    select 30 as horizon_days
    union all select 60
    union all select 90
),
windowed as (
    select horizons.horizon_days, projection.*
    from horizons
    inner join projection on projection.horizon_day <= horizons.horizon_days
),
lowest as (
    select horizon_days, projection_date as lowest_balance_date, projected_balance_base as lowest_balance_base
    from (
        select
            windowed.*,
            row_number() over (
                partition by horizon_days order by projected_balance_base nulls last, projection_date
            ) as rn
        from windowed
    ) as ranked where rn = 1
)

select
    cast(windowed.horizon_days as integer) as horizon_days,
    cast(min(windowed.as_of_date) as date) as as_of_date,
    cast(max(windowed.projection_date) as date) as horizon_end_date,
    cast(min(windowed.opening_balance_base) as decimal(18, 4)) as opening_balance_base,
    cast(sum(windowed.expected_collections_base) as decimal(18, 4)) as expected_collections_base,
    cast(sum(windowed.expected_payments_base) as decimal(18, 4)) as expected_payments_base,
    cast(sum(windowed.recurring_net_flow_base) as decimal(18, 4)) as recurring_net_flow_base,
    cast(max(case when windowed.horizon_day = windowed.horizon_days then windowed.projected_balance_base end)
        as decimal(18, 4)) as projected_balance_base,
    cast(min(lowest.lowest_balance_base) as decimal(18, 4)) as lowest_balance_base,
    cast(min(lowest.lowest_balance_date) as date) as lowest_balance_date,
    cast({{ cashflow_cash_floor_base() }} as decimal(18, 4)) as cash_floor_base,
    cast(min(lowest.lowest_balance_base) < {{ cashflow_cash_floor_base() }} as boolean) as is_below_floor
from windowed
inner join lowest on lowest.horizon_days = windowed.horizon_days
group by windowed.horizon_days
