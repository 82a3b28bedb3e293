{#-
  Knowledge-graph nodes: node_id = '<node_type>:<id>'. Entities use unified ids; documents their source id.
  Labels never carry personal data (customers: legal name of the company).
  properties: compact JSON text; timestamps go in as text (json_object_from would write them in each
  engine's own form), so the text is the same on DuckDB and PostgreSQL.
-#}
with

customers as (
    select 'customer:' || customer_id as node_id, 'customer' as node_type, customer_id as unified_id,
        cast(null as {{ dbt.type_string() }}) as source_id, legal_name as label,
        {{ json_object_from({
            'legal_form': 'legal_form',
            'country_code': 'country_code',
            'n_erp_customers': 'n_erp_customers'
        }) }} as properties
    from {{ ref('dim_customer', v=2) }}
),
suppliers as (
    select 'supplier:' || supplier_id, 'supplier', supplier_id, null, supplier_name,
        {{ json_object_from({'country_code': 'country_code', 'lead_time_days': 'lead_time_days'}) }}
    from {{ ref('dim_supplier') }}
),
products as (
    select 'product:' || product_id, 'product', product_id, sku, product_name,
        {{ json_object_from({'sku': 'sku', 'category': 'category', 'primary_supplier_id': 'primary_supplier_id'}) }}
    from {{ ref('dim_product') }}
),
sales_orders as (
    select 'sales_order:' || erp_sales_order_id, 'sales_order', null, erp_sales_order_id, erp_sales_order_id,
        {{ json_object_from({
            'order_status': 'max(order_status)',
            'order_date': 'max(order_date)',
            'requested_date': 'max(requested_date)',
            'net_amount_base': 'sum(net_amount_base)'
        }) }}
    from {{ ref('fct_sales_order_lines') }}
    group by erp_sales_order_id
),
purchase_orders as (
    select 'purchase_order:' || erp_po_number, 'purchase_order', null, erp_po_number, erp_po_number,
        {{ json_object_from({
            'po_status': 'max(po_status)',
            'order_date': 'max(order_date)',
            'expected_date': 'max(expected_date)',
            'line_amount_base': 'sum(line_amount_base)'
        }) }}
    from {{ ref('fct_purchase_order_lines') }}
    group by erp_po_number
),
tickets as (
    select 'ticket:' || support_ticket_id, 'ticket', null, support_ticket_id, support_ticket_id,
        {{ json_object_from({
            'ticket_category': 'ticket_category',
            'priority': 'priority',
            'ticket_status': 'ticket_status',
            'created_at': 'cast(created_at as ' ~ dbt.type_string() ~ ')'
        }) }}
    from {{ ref('fct_support_tickets') }}
),
ap_invoices as (
    select 'ap_invoice:' || finance_ap_invoice_id, 'ap_invoice', null, finance_ap_invoice_id, finance_ap_invoice_id,
        {{ json_object_from({
            'invoice_status': 'invoice_status',
            'invoice_date': 'invoice_date',
            'total_amount_base': 'total_amount_base',
            'is_exception': 'is_exception'
        }) }}
    from {{ ref('fct_ap_invoices') }}
),
unioned as (
    select * from customers
    union all select * from suppliers
    union all select * from products
    union all select * from sales_orders
    union all select * from purchase_orders
    union all select * from tickets
    union all select * from ap_invoices
)

select
    cast(node_id as {{ dbt.type_string() }}) as node_id,
    cast(node_type as {{ dbt.type_string() }}) as node_type,
    cast(unified_id as {{ dbt.type_string() }}) as unified_id,
    cast(source_id as {{ dbt.type_string() }}) as source_id,
    cast(coalesce(label, unified_id, source_id, node_id) as {{ dbt.type_string() }}) as label,
    cast(properties as {{ dbt.type_string() }}) as properties
from unioned
