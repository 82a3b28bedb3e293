{#-
  Product recalled: which customers bought it (non-cancelled sales order lines), how much and when.
  vars: product_id (unified, e.g. PRD-000004), recall_from / recall_to (order date window, optional).
-#}
{%- set product_id = var('product_id', 'PRD-000001') -%}
{%- set recall_from = var('recall_from', '1900-01-01') -%}
{%- set recall_to = var('recall_to', '2999-12-31') %}
select
    lines.customer_id,
    count(distinct lines.erp_sales_order_id) as n_orders,
    sum(lines.quantity) as quantity,
    min(lines.order_date) as first_order_date,
    max(lines.order_date) as last_order_date
from {{ ref('fct_sales_order_lines') }} as lines
where lines.product_id = '{{ product_id }}'
    and lines.order_status <> 'cancelled'
    and lines.customer_id is not null
    and lines.order_date between cast('{{ recall_from }}' as date) and cast('{{ recall_to }}' as date)
group by lines.customer_id
order by lines.customer_id
