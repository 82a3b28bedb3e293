{#-
  One row per AP invoice with the invoice-level signals of the three-way match:
    duplicate_of_invoice_id : the first invoice (by invoice date, then id) of the same supplier with the same
                              vendor invoice number once punctuation and case are ignored (re-sent invoices are
                              often re-keyed as '2024-ABC001' vs '2024ABC001'); NULL for the first one itself.
    ref_is_po_format        : the quoted reference looks like an ERP PO number at all
    ref_is_known_po         : the quoted reference is an existing ERP purchase order
    supplier_has_pos        : the unified supplier has ever been sent a PO (service vendors never are)
-#}
with

invoices as (
    select
        fct.finance_ap_invoice_id as invoice_id,
        fct.supplier_id,
        fct.finance_vendor_id,
        fct.vendor_invoice_number,
        fct.po_reference,
        fct.invoice_date,
        {{ regexp_replace_all("upper(fct.vendor_invoice_number)", "[^A-Z0-9]", "") }} as vendor_invoice_key,
        coalesce(fct.supplier_id, 'vendor:' || fct.finance_vendor_id) as payee_key
    from {{ ref('fct_ap_invoices') }} as fct
),

po_numbers as (select distinct erp_po_number, supplier_id from {{ ref('fct_purchase_order_lines') }}),

firsts as (
    select
        invoice_id,
        first_value(invoice_id) over (
            partition by payee_key, vendor_invoice_key order by invoice_date, invoice_id
        ) as first_invoice_id
    from invoices
)

select
    cast(invoices.invoice_id as {{ dbt.type_string() }}) as invoice_id,
    cast(invoices.supplier_id as {{ dbt.type_string() }}) as supplier_id,
    cast(invoices.vendor_invoice_key as {{ dbt.type_string() }}) as vendor_invoice_key,
    cast(invoices.po_reference as {{ dbt.type_string() }}) as po_reference,
    cast(nullif(firsts.first_invoice_id, invoices.invoice_id) as {{ dbt.type_string() }}) as duplicate_of_invoice_id,
    cast(coalesce({{ regexp_matches('invoices.po_reference', '^PO-[0-9]{6}$') }}, false) as boolean) as ref_is_po_format,
    cast(invoices.po_reference in (select po_numbers.erp_po_number from po_numbers) as boolean) as ref_is_known_po,
    cast(invoices.supplier_id in (
        select po_numbers.supplier_id from po_numbers where po_numbers.supplier_id is not null
    ) as boolean)
        as supplier_has_pos
from invoices
inner join firsts on firsts.invoice_id = invoices.invoice_id
