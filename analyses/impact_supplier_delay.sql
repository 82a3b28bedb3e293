{#-
  Supplier X is `delay_days` late: which OPEN customer orders (and customers) are affected?
  vars: supplier_id (unified, e.g. SUP-000003), delay_days (default 14), as_of_date (default: today).
  A product is exposed when supplier X supplies it (graph edge supplier_supplies_product). An open sales
  order line (order_status = 'open') for an exposed product is affected when the order's requested date
  is missing or falls before (next expected delivery of X for that product, else as_of_date) + delay_days.
-#}
{%- set supplier_id = var('supplier_id', 'SUP-000001') -%}
{%- set delay_days = var('delay_days', 14) -%}
{%- set as_of = "cast('" ~ var('as_of_date') ~ "' as date)" if var('as_of_date', none) else 'current_date' %}
with exposed_products as (
    select replace(dst_node_id, 'product:', '') as product_id
    from {{ ref('fct_graph_edges') }}
    where edge_type = 'supplier_supplies_product' and src_node_id = 'supplier:{{ supplier_id }}'
),
next_delivery as (
    select product_id, min(expected_date) as next_expected_date
    from {{ ref('fct_purchase_order_lines') }}
    where supplier_id = '{{ supplier_id }}' and quantity_open > 0 and po_status not in ('cancelled', 'closed')
    group by product_id
)
select
    lines.customer_id,
    lines.erp_sales_order_id,
    lines.sales_order_line_id,
    lines.product_id,
    lines.requested_date,
    next_delivery.next_expected_date,
    {{ add_days('coalesce(next_delivery.next_expected_date, ' ~ as_of ~ ')', delay_days) }} as delayed_arrival_date
from {{ ref('fct_sales_order_lines') }} as lines
inner join exposed_products on exposed_products.product_id = lines.product_id
left join next_delivery on next_delivery.product_id = lines.product_id
where lines.order_status = 'open'
    and (lines.requested_date is null
         or lines.requested_date < {{ add_days('coalesce(next_delivery.next_expected_date, ' ~ as_of ~ ')', delay_days) }})
order by lines.customer_id, lines.sales_order_line_id
