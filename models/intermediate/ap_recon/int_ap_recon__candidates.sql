{#-
  Candidate (AP invoice, purchase order) pairs with the features both the rules and the match scorer use.

  Where candidates come from (an invoice bills what was received on one day for one PO):
    ref      : the PO the invoice quotes (exact), or PO numbers within edit distance
               var('recon_ref_max_edit_distance') of it (keying typos)
    supplier : POs of the invoice's unified supplier with goods received in
               [invoice_date - var('recon_window_days_before'), invoice_date + var('recon_window_days_after')]
  Each pair is compared with the best-fitting receipt day of that PO (receipt value closest to the invoice's
  net amount), because split deliveries are invoiced per delivery, not per PO.
  `is_rule_match`: quoted PO exact + same unified supplier + same currency + quantities equal + amount within
  var('ap_price_tolerance_pct') percent + receipt inside the date window: the confident three-way match. Grain (invoice_id, po_number).
-#}
{%- set before = var('recon_window_days_before', 10) -%}
{%- set after = var('recon_window_days_after', 2) -%}
{%- set tolerance = var('ap_price_tolerance_pct', 2) -%}
{%- set qty_tolerance = var('recon_qty_tolerance_pct', 0) -%}
{%- set max_edit = var('recon_ref_max_edit_distance', 1) -%}
with

invoices as (
    select
        fct.finance_ap_invoice_id as invoice_id,
        fct.supplier_id,
        fct.po_reference,
        fct.currency_code,
        fct.net_amount,
        fct.invoice_date,
        lower(stg.vendor_name) as vendor_name,
        coalesce(lines.quantity, 0) as invoice_quantity
    from {{ ref('fct_ap_invoices') }} as fct
    left join {{ ref('stg_finance__ap_invoices') }} as stg on stg.finance_ap_invoice_id = fct.finance_ap_invoice_id
    left join (
        select finance_ap_invoice_id, sum(quantity) as quantity
        from {{ ref('fct_ap_invoice_lines') }} group by finance_ap_invoice_id
    ) as lines on lines.finance_ap_invoice_id = fct.finance_ap_invoice_id
),

purchase_orders as (
    select
        pol.erp_po_number as po_number,
        {{ any_value_of('pol.supplier_id') }} as supplier_id,
        {{ any_value_of('pol.erp_supplier_id') }} as erp_supplier_id,
        {{ any_value_of('pol.currency_code') }} as currency_code,
        sum(pol.line_amount) as po_amount,
        min(pol.order_date) as order_date
    from {{ ref('fct_purchase_order_lines') }} as pol
    group by pol.erp_po_number
),

receipt_days as (
    select
        gr.erp_po_number as po_number,
        gr.received_date,
        sum(gr.quantity_received) as received_quantity,
        sum(gr.quantity_received * pol.unit_cost) as received_value
    from {{ ref('fct_goods_receipts') }} as gr
    inner join {{ ref('fct_purchase_order_lines') }} as pol on pol.purchase_order_line_id = gr.purchase_order_line_id
    group by gr.erp_po_number, gr.received_date
),

pairs as (
    select invoices.invoice_id, purchase_orders.po_number, 'ref' as found_by
    from invoices
    inner join purchase_orders
        on invoices.po_reference is not null
        and {{ edit_distance('invoices.po_reference', 'purchase_orders.po_number') }} <= {{ max_edit }}
    union all
    select distinct invoices.invoice_id, receipt_days.po_number, 'supplier' as found_by
    from invoices
    inner join purchase_orders on purchase_orders.supplier_id = invoices.supplier_id
    inner join receipt_days on receipt_days.po_number = purchase_orders.po_number
        and receipt_days.received_date between {{ add_days('invoices.invoice_date', -before) }}
                                           and {{ add_days('invoices.invoice_date', after) }}
),

unique_pairs as (
    select invoice_id, po_number, {{ string_agg_distinct('found_by', '+') }} as found_by
    from pairs
    group by invoice_id, po_number
),

-- the PO's receipt day that best explains the invoice amount (ties: the closer day)
ranked_days as (
    select
        unique_pairs.invoice_id,
        unique_pairs.po_number,
        receipt_days.received_date,
        receipt_days.received_quantity,
        receipt_days.received_value,
        row_number() over (
            partition by unique_pairs.invoice_id, unique_pairs.po_number
            order by abs(invoices.net_amount - receipt_days.received_value) nulls last,
                     abs({{ days_between('receipt_days.received_date', 'invoices.invoice_date') }}) nulls last
        ) as day_rank
    from unique_pairs
    inner join invoices on invoices.invoice_id = unique_pairs.invoice_id
    inner join receipt_days on receipt_days.po_number = unique_pairs.po_number
),

best_day as (
    select invoice_id, po_number, received_date, received_quantity, received_value
    from ranked_days
    where day_rank = 1
),

signals as (select invoice_id, duplicate_of_invoice_id from {{ ref('int_ap_recon__invoices') }}),

erp_suppliers as (
    select erp_supplier_id, lower(supplier_name) as supplier_name from {{ ref('stg_erp__suppliers') }}
),

features as (
    select
        unique_pairs.invoice_id,
        unique_pairs.po_number,
        unique_pairs.found_by,
        invoices.po_reference,
        invoices.po_reference is null as ref_missing,
        coalesce(invoices.po_reference = unique_pairs.po_number, false) as ref_exact,
        {{ edit_distance('invoices.po_reference', 'unique_pairs.po_number') }} as ref_edit_distance,
        coalesce(invoices.supplier_id = purchase_orders.supplier_id, false) as same_supplier,
        coalesce({{ name_similarity('invoices.vendor_name', 'erp_suppliers.supplier_name') }}, 0) as vendor_name_similarity,
        coalesce(invoices.currency_code = purchase_orders.currency_code, false) as same_currency,
        invoices.net_amount,
        invoices.invoice_quantity,
        best_day.received_date,
        best_day.received_quantity,
        best_day.received_value,
        purchase_orders.po_amount,
        best_day.received_value is not null as has_receipt,
        invoices.net_amount / nullif(best_day.received_value, 0) as amount_ratio,
        invoices.net_amount / nullif(purchase_orders.po_amount, 0) as po_amount_ratio,
        invoices.invoice_quantity / nullif(best_day.received_quantity, 0) as quantity_ratio,
        {{ days_between('best_day.received_date', 'invoices.invoice_date') }} as date_gap_days,
        {{ days_between('purchase_orders.order_date', 'invoices.invoice_date') }} as days_since_order,
        signals.duplicate_of_invoice_id is not null as duplicate_signal
    from unique_pairs
    inner join invoices on invoices.invoice_id = unique_pairs.invoice_id
    inner join purchase_orders on purchase_orders.po_number = unique_pairs.po_number
    left join best_day on best_day.invoice_id = unique_pairs.invoice_id and best_day.po_number = unique_pairs.po_number
    left join erp_suppliers on erp_suppliers.erp_supplier_id = purchase_orders.erp_supplier_id
    left join signals on signals.invoice_id = unique_pairs.invoice_id
)

select
    cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,
    cast(po_number as {{ dbt.type_string() }}) as po_number,
    cast(found_by as {{ dbt.type_string() }}) as found_by,
    cast(po_reference as {{ dbt.type_string() }}) as po_reference,
    cast(ref_missing as boolean) as ref_missing,
    cast(ref_exact as boolean) as ref_exact,
    cast(ref_edit_distance as integer) as ref_edit_distance,
    cast(same_supplier as boolean) as same_supplier,
    cast(vendor_name_similarity as {{ type_double() }}) as vendor_name_similarity,
    cast(same_currency as boolean) as same_currency,
    cast(net_amount as decimal(18, 4)) as net_amount,
    cast(invoice_quantity as decimal(18, 4)) as invoice_quantity,
    cast(received_date as date) as received_date,
    cast(received_quantity as decimal(18, 4)) as received_quantity,
    cast(received_value as decimal(18, 4)) as received_value,
    cast(po_amount as decimal(18, 4)) as po_amount,
    cast(has_receipt as boolean) as has_receipt,
    cast(amount_ratio as {{ type_double() }}) as amount_ratio,
    cast(po_amount_ratio as {{ type_double() }}) as po_amount_ratio,
    cast(quantity_ratio as {{ type_double() }}) as quantity_ratio,
    cast(date_gap_days as integer) as date_gap_days,
    cast(days_since_order as integer) as days_since_order,
    cast(duplicate_signal as boolean) as duplicate_signal,
    cast(coalesce(abs(quantity_ratio - 1) <= {{ qty_tolerance }} / 100.0, false) as boolean) as quantity_within_tolerance,
    cast(coalesce(abs(amount_ratio - 1) <= {{ tolerance }} / 100.0, false) as boolean) as amount_within_tolerance,
    cast(
        ref_exact and same_supplier and same_currency
        and coalesce(date_gap_days between -{{ after }} and {{ before }}, false)
        and coalesce(abs(quantity_ratio - 1) <= {{ qty_tolerance }} / 100.0, false)
        and coalesce(abs(amount_ratio - 1) <= {{ tolerance }} / 100.0, false)
        as boolean
    ) as is_rule_match
from features
