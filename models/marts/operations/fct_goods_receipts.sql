{#- One row per ERP goods receipt, with its PO's supplier and expected date (lateness in days). -#}
with

receipts as (select * from {{ ref('stg_erp__goods_receipts') }}),
orders as (select * from {{ ref('stg_erp__purchase_orders') }}),
suppliers as (
    select source_id, supplier_id from {{ ref('bdg_supplier_source_ids') }}
    where source_system = 'erp' and source_entity = 'suppliers'
),
products as (
    select source_id, product_id from {{ ref('bdg_product_source_ids') }}
    where source_system = 'erp' and source_entity = 'products'
)

select
    cast(receipts.erp_receipt_id as {{ dbt.type_string() }}) as erp_receipt_id,
    cast(receipts.erp_po_number as {{ dbt.type_string() }}) as erp_po_number,
    cast(receipts.po_line_no as integer) as po_line_no,
    cast(receipts.erp_po_number || '-' || cast(receipts.po_line_no as {{ dbt.type_string() }}) as {{ dbt.type_string() }}) as purchase_order_line_id,
    cast(suppliers.supplier_id as {{ dbt.type_string() }}) as supplier_id,
    cast(products.product_id as {{ dbt.type_string() }}) as product_id,
    cast(receipts.sku as {{ dbt.type_string() }}) as sku,
    cast(receipts.location_id as {{ dbt.type_string() }}) as location_id,
    cast(receipts.quantity_received as bigint) as quantity_received,
    cast(receipts.received_date as date) as received_date,
    cast(orders.expected_date as date) as expected_date,
    {{ days_between('orders.expected_date', 'receipts.received_date') }} as days_late,
    cast(receipts._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(receipts._load_id as {{ dbt.type_string() }}) as _load_id
from receipts
left join orders on orders.erp_po_number = receipts.erp_po_number
left join suppliers on suppliers.source_id = orders.erp_supplier_id
left join products on products.source_id = receipts.sku
