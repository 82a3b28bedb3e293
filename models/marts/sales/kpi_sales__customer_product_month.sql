{#- Net sales (base currency) per order month, unified customer and unified product; cancelled orders excluded.
    Orders are counted by grouping per order first, then counting the groups: the same figure as
    count(distinct erp_sales_order_id), but two plain aggregations spill to disk where a distinct aggregate
    over 20 million lines ran out of memory (the scale-500 run, issue 12). -#}
with per_order as (
    select
        {{ month_start('order_date') }} as month_start,
        customer_id,
        product_id,
        erp_sales_order_id,
        sum(quantity) as quantity,
        sum(net_amount_base) as net_amount_base
    from {{ ref('fct_sales_order_lines') }}
    where order_status <> 'cancelled' and customer_id is not null and product_id is not null
    group by 1, 2, 3, 4
)

select
    cast(month_start as date) as month_start,
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(product_id as {{ dbt.type_string() }}) as product_id,
    cast(count(erp_sales_order_id) as integer) as n_orders,
    cast(sum(quantity) as bigint) as quantity,
    cast(sum(net_amount_base) as decimal(18, 4)) as net_sales_base
from per_order
group by 1, 2, 3
