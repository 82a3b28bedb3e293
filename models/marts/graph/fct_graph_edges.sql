{#-
  Knowledge-graph edges between dim_graph_nodes. edge_id = '<edge_type>:<src id>:<dst id>' (one edge per
  pair and type; valid_from / valid_to = first / last date the relationship was observed).
-#}
with

sales as (select * from {{ ref('fct_sales_order_lines') }}),
purchases as (select * from {{ ref('fct_purchase_order_lines') }}),
tickets as (select * from {{ ref('fct_support_tickets') }}),
ap as (select * from {{ ref('fct_ap_invoices') }}),

edges as (

    select 'placed_order' as edge_type, 'customer:' || customer_id as src_node_id,
        'sales_order:' || erp_sales_order_id as dst_node_id, 'erp' as source_system,
        min(order_date) as valid_from, max(order_date) as valid_to
    from sales where customer_id is not null group by 1, 2, 3, 4

    union all
    select 'order_contains_product', 'sales_order:' || erp_sales_order_id, 'product:' || product_id, 'erp',
        min(order_date), max(order_date)
    from sales where product_id is not null group by 1, 2, 3, 4

    union all
    select 'po_ordered_from_supplier', 'purchase_order:' || erp_po_number, 'supplier:' || supplier_id, 'erp',
        min(order_date), max(order_date)
    from purchases where supplier_id is not null group by 1, 2, 3, 4

    union all
    select 'po_contains_product', 'purchase_order:' || erp_po_number, 'product:' || product_id, 'erp',
        min(order_date), max(order_date)
    from purchases where product_id is not null group by 1, 2, 3, 4

    union all
    -- a supplier supplies a product when it is the product's primary supplier or was ordered from for it
    select 'supplier_supplies_product', 'supplier:' || supplier_id, 'product:' || product_id,
        min(source_system), min(valid_from), max(valid_to)
    from (
        select supplier_id, product_id, 'erp' as source_system, order_date as valid_from, order_date as valid_to
        from purchases where supplier_id is not null and product_id is not null
        union all
        select primary_supplier_id, product_id, 'erp', cast(null as date), cast(null as date)
        from {{ ref('dim_product') }} where primary_supplier_id is not null
    ) as supplies
    group by 1, 2, 3

    union all
    select 'customer_raised_ticket', 'customer:' || customer_id, 'ticket:' || support_ticket_id, 'support',
        min(cast(created_at as date)), max(cast(coalesce(resolved_at, created_at) as date))
    from tickets where customer_id is not null group by 1, 2, 3, 4

    union all
    select 'ticket_concerns_product', 'ticket:' || support_ticket_id, 'product:' || product_id, 'support',
        min(cast(created_at as date)), max(cast(coalesce(resolved_at, created_at) as date))
    from tickets where product_id is not null group by 1, 2, 3, 4

    union all
    select 'invoice_bills_purchase_order', 'ap_invoice:' || finance_ap_invoice_id, 'purchase_order:' || matched_po_number,
        'finance', min(invoice_date), max(coalesce(last_payment_date, invoice_date))
    from ap where matched_po_number is not null group by 1, 2, 3, 4

    union all
    select 'supplier_issued_invoice', 'supplier:' || supplier_id, 'ap_invoice:' || finance_ap_invoice_id,
        'finance', min(invoice_date), max(invoice_date)
    from ap where supplier_id is not null group by 1, 2, 3, 4

)

select
    cast(edge_type || ':' || src_node_id || '->' || dst_node_id as {{ dbt.type_string() }}) as edge_id,
    cast(src_node_id as {{ dbt.type_string() }}) as src_node_id,
    cast(dst_node_id as {{ dbt.type_string() }}) as dst_node_id,
    cast(edge_type as {{ dbt.type_string() }}) as edge_type,
    cast(source_system as {{ dbt.type_string() }}) as source_system,
    cast(valid_from as date) as valid_from,
    cast(valid_to as date) as valid_to
from edges
