{#-
  One row per AP (supplier) invoice, keyed to the unified supplier, with three-way-match exception flags:
    has_no_po_match      : po_reference missing or not an ERP purchase order
    has_amount_variance  : an invoice line's unit price differs from the matched PO line's unit cost (same
                           SKU) by more than var('ap_price_tolerance_pct', 2) percent (price variance)
    is_possible_duplicate: another invoice of the same vendor has the same vendor invoice number
    is_disputed          : status disputed
  is_exception = any flag. Payment dates come from outgoing payments.
-#}
with

invoices as (select * from {{ ref('stg_finance__ap_invoices') }}),
po_values as (
    select erp_po_number, sum(line_amount_base) as po_amount_base
    from {{ ref('fct_purchase_order_lines') }}
    group by erp_po_number
),
price_variances as (
    select distinct ap_lines.finance_ap_invoice_id
    from {{ ref('stg_finance__ap_invoice_lines') }} as ap_lines
    inner join {{ ref('stg_finance__ap_invoices') }} as ap_headers
        on ap_headers.finance_ap_invoice_id = ap_lines.finance_ap_invoice_id
    inner join {{ ref('stg_erp__purchase_order_lines') }} as po_lines
        on po_lines.erp_po_number = ap_headers.po_reference and po_lines.sku = ap_lines.sku
    where abs(ap_lines.unit_price - po_lines.unit_cost)
        > {{ var('ap_price_tolerance_pct', 2) }} / 100.0 * abs(po_lines.unit_cost)
),
payments as (
    select finance_invoice_id, max(payment_date) as last_payment_date, sum(amount_base) as paid_amount_base
    from {{ ref('stg_finance__payments') }}
    where payment_direction = 'outgoing'
    group by finance_invoice_id
),
suppliers as (
    select source_id, supplier_id from {{ ref('bdg_supplier_source_ids') }}
    where source_system = 'finance' and source_entity = 'vendors'
),

flagged as (

    select
        invoices.*,
        po_values.erp_po_number as matched_po_number,
        po_values.po_amount_base,
        payments.last_payment_date,
        payments.paid_amount_base,
        po_values.erp_po_number is null as has_no_po_match,
        price_variances.finance_ap_invoice_id is not null as has_amount_variance,
        count(*) over (partition by invoices.finance_vendor_id, invoices.vendor_invoice_number) > 1
            as is_possible_duplicate,
        invoices.invoice_status = 'disputed' as is_disputed
    from invoices
    left join po_values on po_values.erp_po_number = invoices.po_reference
    left join payments on payments.finance_invoice_id = invoices.finance_ap_invoice_id
    left join price_variances on price_variances.finance_ap_invoice_id = invoices.finance_ap_invoice_id

)

select
    cast(flagged.finance_ap_invoice_id as {{ dbt.type_string() }}) as finance_ap_invoice_id,
    cast(suppliers.supplier_id as {{ dbt.type_string() }}) as supplier_id,
    cast(flagged.finance_vendor_id as {{ dbt.type_string() }}) as finance_vendor_id,
    cast(flagged.vendor_invoice_number as {{ dbt.type_string() }}) as vendor_invoice_number,
    cast(flagged.po_reference as {{ dbt.type_string() }}) as po_reference,
    cast(flagged.matched_po_number as {{ dbt.type_string() }}) as matched_po_number,
    cast(flagged.invoice_status as {{ dbt.type_string() }}) as invoice_status,
    cast(flagged.currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(flagged.net_amount as decimal(18, 4)) as net_amount,
    cast(flagged.total_amount as decimal(18, 4)) as total_amount,
    cast(flagged.net_amount_base as decimal(18, 4)) as net_amount_base,
    cast(flagged.tax_amount_base as decimal(18, 4)) as tax_amount_base,
    cast(flagged.total_amount_base as decimal(18, 4)) as total_amount_base,
    cast(flagged.po_amount_base as decimal(18, 4)) as po_amount_base,
    cast(flagged.invoice_date as date) as invoice_date,
    cast(flagged.received_date as date) as received_date,
    cast(flagged.due_date as date) as due_date,
    cast(flagged.last_payment_date as date) as last_payment_date,
    cast(coalesce(flagged.paid_amount_base, 0) as decimal(18, 4)) as paid_amount_base,
    cast(flagged.has_no_po_match as boolean) as has_no_po_match,
    cast(flagged.has_amount_variance as boolean) as has_amount_variance,
    cast(flagged.is_possible_duplicate as boolean) as is_possible_duplicate,
    cast(flagged.is_disputed as boolean) as is_disputed,
    cast(flagged.has_no_po_match or flagged.has_amount_variance or flagged.is_possible_duplicate
        or flagged.is_disputed as boolean) as is_exception,
    cast(flagged._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(flagged._load_id as {{ dbt.type_string() }}) as _load_id
from flagged
left join suppliers on suppliers.source_id = flagged.finance_vendor_id
