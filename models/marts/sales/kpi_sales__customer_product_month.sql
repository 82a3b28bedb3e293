{#- Net sales (base currency) per order month, unified customer and unified product; cancelled orders excluded. -#}
select
    cast({{ month_start('order_date') }} as date) as month_start,
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(product_id as {{ dbt.type_string() }}) as product_id,
    cast(count(distinct erp_sales_order_id) as integer) as n_orders,
    cast(sum(quantity) as bigint) as quantity,
    cast(sum(net_amount_base) as decimal(18, 4)) as net_sales_base
from {{ ref('fct_sales_order_lines') }}
where order_status <> 'cancelled' and customer_id is not null and product_id is not null
group by 1, 2, 3
