{#-
  Inventory turns per month: cost of goods sold / average inventory value.
    cogs_base            = sum(quantity * product unit_cost_base) of sales order lines not cancelled, by order month
    avg_inventory_base   = average over the month's snapshot dates of the total on-hand value (all locations)
    inventory_turns      = cogs_base / avg_inventory_base ; annualised_turns = inventory_turns * 12
-#}
with

cogs as (
    select {{ month_start('s.order_date') }} as month_start, sum(s.quantity * p.unit_cost_base) as cogs_base
    from {{ ref('fct_sales_order_lines') }} as s
    inner join {{ ref('dim_product') }} as p on p.product_id = s.product_id
    where s.order_status <> 'cancelled'
    group by 1
),
daily_stock as (
    select snapshot_date, sum(on_hand_value_base) as on_hand_value_base
    from {{ ref('fct_inventory_snapshots') }}
    group by snapshot_date
),
stock as (
    select {{ month_start('snapshot_date') }} as month_start, avg(on_hand_value_base) as avg_inventory_base
    from daily_stock
    group by 1
)

select
    cast(stock.month_start as date) as month_start,
    cast(coalesce(cogs.cogs_base, 0) as decimal(18, 4)) as cogs_base,
    cast(stock.avg_inventory_base as decimal(18, 4)) as avg_inventory_base,
    cast(coalesce(cogs.cogs_base, 0) / nullif(stock.avg_inventory_base, 0) as {{ type_double() }}) as inventory_turns,
    cast(coalesce(cogs.cogs_base, 0) / nullif(stock.avg_inventory_base, 0) * 12 as {{ type_double() }}) as annualised_turns
from stock
left join cogs on cogs.month_start = stock.month_start
