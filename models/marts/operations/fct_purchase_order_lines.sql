{#- One row per ERP purchase order line, keyed to unified supplier / product; receipts rolled up. -#}
with

lines as (select * from {{ ref('stg_erp__purchase_order_lines') }}),
orders as (select * from {{ ref('stg_erp__purchase_orders') }}),
receipts as (
    select erp_po_number, po_line_no, sum(quantity_received) as quantity_received, max(received_date) as last_received_date
    from {{ ref('stg_erp__goods_receipts') }}
    group by erp_po_number, po_line_no
),
suppliers as (
    select source_id, supplier_id from {{ ref('bdg_supplier_source_ids') }}
    where source_system = 'erp' and source_entity = 'suppliers'
),
products as (
    select source_id, product_id from {{ ref('bdg_product_source_ids') }}
    where source_system = 'erp' and source_entity = 'products'
),

joined as (

    select
        lines.*,
        orders.erp_supplier_id,
        orders.po_status,
        orders.currency_code,
        orders.order_date,
        orders.expected_date,
        coalesce(receipts.quantity_received, 0) as quantity_received,
        receipts.last_received_date,
        cast(lines.quantity * lines.unit_cost as decimal(18, 4)) as line_amount
    from lines
    left join orders on orders.erp_po_number = lines.erp_po_number
    left join receipts on receipts.erp_po_number = lines.erp_po_number and receipts.po_line_no = lines.line_no

)

select
    cast(joined.erp_po_number || '-' || cast(joined.line_no as {{ dbt.type_string() }}) as {{ dbt.type_string() }}) as purchase_order_line_id,
    cast(joined.erp_po_number as {{ dbt.type_string() }}) as erp_po_number,
    cast(joined.line_no as integer) as line_no,
    cast(suppliers.supplier_id as {{ dbt.type_string() }}) as supplier_id,
    cast(joined.erp_supplier_id as {{ dbt.type_string() }}) as erp_supplier_id,
    cast(products.product_id as {{ dbt.type_string() }}) as product_id,
    cast(joined.sku as {{ dbt.type_string() }}) as sku,
    cast(joined.po_status as {{ dbt.type_string() }}) as po_status,
    cast(joined.order_date as date) as order_date,
    cast(joined.expected_date as date) as expected_date,
    cast(joined.currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(joined.quantity as bigint) as quantity,
    cast(joined.unit_cost as decimal(18, 4)) as unit_cost,
    joined.line_amount,
    {{ to_base_currency('joined.line_amount', 'joined.currency_code', 'joined.order_date') }} as line_amount_base,
    cast(joined.quantity_received as bigint) as quantity_received,
    cast(greatest(joined.quantity - joined.quantity_received, 0) as bigint) as quantity_open,
    cast(joined.last_received_date as date) as last_received_date,
    cast(joined._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(joined._load_id as {{ dbt.type_string() }}) as _load_id
from joined
left join suppliers on suppliers.source_id = joined.erp_supplier_id
left join products on products.source_id = joined.sku
