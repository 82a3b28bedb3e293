{#- One row per AP invoice line, keyed to the unified product (via SKU) and supplier (via the invoice). -#}
with

lines as (select * from {{ ref('stg_finance__ap_invoice_lines') }}),
invoices as (select * from {{ ref('stg_finance__ap_invoices') }}),
suppliers as (
    select source_id, supplier_id from {{ ref('bdg_supplier_source_ids') }}
    where source_system = 'finance' and source_entity = 'vendors'
),
products as (
    select source_id, product_id from {{ ref('bdg_product_source_ids') }}
    where source_system = 'erp' and source_entity = 'products'
)

select
    cast(lines.finance_ap_invoice_id || '-' || cast(lines.line_no as {{ dbt.type_string() }}) as {{ dbt.type_string() }}) as ap_invoice_line_id,
    cast(lines.finance_ap_invoice_id as {{ dbt.type_string() }}) as finance_ap_invoice_id,
    cast(lines.line_no as integer) as line_no,
    cast(suppliers.supplier_id as {{ dbt.type_string() }}) as supplier_id,
    cast(products.product_id as {{ dbt.type_string() }}) as product_id,
    cast(lines.sku as {{ dbt.type_string() }}) as sku,
    cast(lines.line_description as {{ dbt.type_string() }}) as line_description,
    cast(lines.quantity as decimal(18, 4)) as quantity,
    cast(lines.unit_price as decimal(18, 4)) as unit_price,
    cast(lines.line_amount as decimal(18, 4)) as line_amount,
    {{ to_base_currency('lines.line_amount', 'invoices.currency_code', 'invoices.invoice_date') }} as line_amount_base,
    cast(lines._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(lines._load_id as {{ dbt.type_string() }}) as _load_id
from lines
left join invoices on invoices.finance_ap_invoice_id = lines.finance_ap_invoice_id
left join suppliers on suppliers.source_id = invoices.finance_vendor_id
left join products on products.source_id = lines.sku
