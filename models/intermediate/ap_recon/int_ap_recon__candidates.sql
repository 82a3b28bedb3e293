{#-
  Candidate (AP invoice, purchase order) pairs with the features both the rules and the match scorer use.

  Candidates come from three blocks, each an equi-join, so the pairs (and the work) grow with the number of
  invoices, not with invoices x purchase orders. An invoice bills what was received on one day for one PO.
    ref      : the PO the invoice quotes (exact), or PO numbers within edit distance
               var('recon_ref_max_edit_distance') (0 or 1) of it: keying typos. Found through the deletion
               neighbourhood (the "symmetric delete" of Garbe's SymSpell): two strings are within edit
               distance 1 only if they share a key among {the string} + {the string with one character
               deleted}, so an equi-join on those keys finds every neighbour, and edit_distance() then confirms
               each. A neighbour that is not the quoted PO itself is kept only when it belongs to the
               invoice's unified supplier, or has a receipt day in the window (below) worth the invoice's net
               amount within var('recon_amount_band_pct') percent (the supplier may be mis-resolved): PO
               numbers are dense, so any reference has ~30 neighbours, nearly all of other suppliers.
    supplier : POs of the invoice's unified supplier with goods received in
               [invoice_date - var('recon_window_days_before'), invoice_date + var('recon_window_days_after')],
               the var('recon_block_top_k') whose receipt-day value is closest to the invoice's net amount.
    amount   : invoices without a unified supplier only: POs in the same currency with a receipt day in that
               window whose value is within var('recon_amount_band_pct') percent of the invoice's net amount,
               the closest var('recon_block_top_k').
  The window joins go through week-like buckets of the window's length (equi-join on supplier or currency and
  bucket, then the exact date test), never a range join over all receipts.

  Each pair is compared with the best-fitting receipt day of that PO (receipt value closest to the invoice's
  net amount; ties: the day closer to the invoice date, then the earlier day), because split deliveries are
  invoiced per delivery, not per PO.
  `rule_checks_pass`: same unified supplier + same currency + quantities equal + amount within
  var('ap_price_tolerance_pct') percent + receipt inside the date window (everything but the reference).
  `is_rule_match`: rule_checks_pass and the quoted PO is exactly this one: the confident three-way match.
  Grain (invoice_id, po_number). The vars live in dbt_project.yml (the scorer's gate reads the same values).
-#}
{%- set before = var('recon_window_days_before') -%}
{%- set after = var('recon_window_days_after') -%}
{%- set tolerance = var('ap_price_tolerance_pct') -%}
{%- set qty_tolerance = var('recon_qty_tolerance_pct') -%}
{%- set max_edit = var('recon_ref_max_edit_distance') -%}
{%- set top_k = var('recon_block_top_k') -%}
{%- set band = var('recon_amount_band_pct') -%}
{%- set max_key_length = var('recon_ref_max_length') -%}
{%- set bucket_days = before + after + 1 -%}
{%- if max_edit not in [0, 1] -%}
    {{ exceptions.raise_compiler_error("recon_ref_max_edit_distance must be 0 or 1 (the deletion neighbourhood "
                                       ~ "is built for one edit), not " ~ max_edit) }}
{%- endif -%}
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

-- ---------------------------------------------------------------- block "ref": deletion neighbourhood
positions as (
    {%- for i in range(1, max_key_length + 1) %}
    select {{ i }} as pos{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

invoice_refs as (
    select invoice_id, po_reference as ref_text
    from invoices
    where po_reference is not null and length(po_reference) <= {{ max_key_length }}
),

po_texts as (
    select po_number, po_number as po_text
    from purchase_orders
    where length(po_number) <= {{ max_key_length }}
),

ref_keys as (
    select invoice_id, ref_text as del_key from invoice_refs
    {%- if max_edit == 1 %}
    union
    select invoice_refs.invoice_id,
           substr(invoice_refs.ref_text, 1, positions.pos - 1)
           || substr(invoice_refs.ref_text, positions.pos + 1, length(invoice_refs.ref_text)) as del_key
    from invoice_refs
    inner join positions on positions.pos <= length(invoice_refs.ref_text)
    {%- endif %}
),

po_keys as (
    select po_number, po_text as del_key from po_texts
    {%- if max_edit == 1 %}
    union
    select po_texts.po_number,
           substr(po_texts.po_text, 1, positions.pos - 1)
           || substr(po_texts.po_text, positions.pos + 1, length(po_texts.po_text)) as del_key
    from po_texts
    inner join positions on positions.pos <= length(po_texts.po_text)
    {%- endif %}
),

ref_neighbours as (
    select distinct ref_keys.invoice_id, po_keys.po_number
    from ref_keys
    inner join po_keys on po_keys.del_key = ref_keys.del_key
),

ref_neighbours_in_band as (
    -- neighbours with a receipt day inside the invoice's window worth the invoice's net amount (within the band)
    select distinct ref_neighbours.invoice_id, ref_neighbours.po_number
    from ref_neighbours
    inner join invoices on invoices.invoice_id = ref_neighbours.invoice_id
    inner join receipt_days on receipt_days.po_number = ref_neighbours.po_number
    where receipt_days.received_date between {{ add_days('invoices.invoice_date', -before) }}
                                         and {{ add_days('invoices.invoice_date', after) }}
        and abs(invoices.net_amount / nullif(receipt_days.received_value, 0) - 1) <= {{ band }} / 100.0
),

ref_pairs as (
    select ref_neighbours.invoice_id, ref_neighbours.po_number, 'ref' as found_by
    from ref_neighbours
    inner join invoices on invoices.invoice_id = ref_neighbours.invoice_id
    inner join purchase_orders on purchase_orders.po_number = ref_neighbours.po_number
    left join ref_neighbours_in_band
        on ref_neighbours_in_band.invoice_id = ref_neighbours.invoice_id
        and ref_neighbours_in_band.po_number = ref_neighbours.po_number
    where
        {{ edit_distance('invoices.po_reference', 'ref_neighbours.po_number') }} <= {{ max_edit }}
        and (
            invoices.po_reference = ref_neighbours.po_number
            or invoices.supplier_id = purchase_orders.supplier_id
            or ref_neighbours_in_band.po_number is not null
        )
),

-- ---------------------------------------------------------------- blocks "supplier" and "amount"
-- Buckets as long as the window: a window [invoice_date - before, invoice_date + after] touches at most two.
receipt_buckets as (
    select
        receipt_days.po_number,
        receipt_days.received_date,
        receipt_days.received_value,
        purchase_orders.supplier_id,
        purchase_orders.currency_code,
        cast(floor({{ days_between("cast('2000-01-01' as date)", 'receipt_days.received_date') }}
            / {{ bucket_days }}.0) as integer) as bucket
    from receipt_days
    inner join purchase_orders on purchase_orders.po_number = receipt_days.po_number
),

invoice_buckets as (
    select distinct invoice_id, bucket
    from (
        select
            invoice_id,
            cast(floor({{ days_between("cast('2000-01-01' as date)", add_days('invoice_date', -before)) }}
                / {{ bucket_days }}.0) as integer) as bucket
        from invoices
        union all
        select
            invoice_id,
            cast(floor({{ days_between("cast('2000-01-01' as date)", add_days('invoice_date', after)) }}
                / {{ bucket_days }}.0) as integer) as bucket
        from invoices
    ) as both_ends
),

window_receipts as (
    -- every (invoice, receipt day) of the invoice's supplier inside the window; for an invoice without a
    -- unified supplier, every receipt day in its currency (two equi-joins: an OR would defeat the hash join)
    select
        invoices.invoice_id,
        receipt_buckets.po_number,
        'supplier' as found_by,
        abs(invoices.net_amount - receipt_buckets.received_value) as amount_gap,
        abs(invoices.net_amount / nullif(receipt_buckets.received_value, 0) - 1) as amount_gap_ratio,
        abs({{ days_between('receipt_buckets.received_date', 'invoices.invoice_date') }}) as day_gap,
        receipt_buckets.received_date
    from invoices
    inner join invoice_buckets on invoice_buckets.invoice_id = invoices.invoice_id
    inner join receipt_buckets
        on receipt_buckets.supplier_id = invoices.supplier_id and receipt_buckets.bucket = invoice_buckets.bucket
    where receipt_buckets.received_date between {{ add_days('invoices.invoice_date', -before) }}
                                            and {{ add_days('invoices.invoice_date', after) }}
    union all
    select
        invoices.invoice_id,
        receipt_buckets.po_number,
        'amount' as found_by,
        abs(invoices.net_amount - receipt_buckets.received_value) as amount_gap,
        abs(invoices.net_amount / nullif(receipt_buckets.received_value, 0) - 1) as amount_gap_ratio,
        abs({{ days_between('receipt_buckets.received_date', 'invoices.invoice_date') }}) as day_gap,
        receipt_buckets.received_date
    from invoices
    inner join invoice_buckets on invoice_buckets.invoice_id = invoices.invoice_id
    inner join receipt_buckets
        on receipt_buckets.currency_code = invoices.currency_code and receipt_buckets.bucket = invoice_buckets.bucket
    where invoices.supplier_id is null
        and receipt_buckets.received_date between {{ add_days('invoices.invoice_date', -before) }}
                                              and {{ add_days('invoices.invoice_date', after) }}
),

window_pos as (
    -- one row per (invoice, PO): the PO's best-fitting receipt day in the window
    select invoice_id, po_number, found_by, amount_gap, amount_gap_ratio, day_gap, received_date
    from (
        select
            window_receipts.*,
            row_number() over (
                partition by window_receipts.invoice_id, window_receipts.po_number
                order by window_receipts.amount_gap nulls last, window_receipts.day_gap, window_receipts.received_date
            ) as day_rank
        from window_receipts
    ) as ranked_window_days
    where day_rank = 1
),

window_pairs as (
    select invoice_id, po_number, found_by
    from (
        select
            window_pos.*,
            row_number() over (
                partition by window_pos.invoice_id
                order by window_pos.amount_gap nulls last, window_pos.day_gap, window_pos.received_date, window_pos.po_number
            ) as block_rank
        from window_pos
        where window_pos.found_by = 'supplier' or window_pos.amount_gap_ratio <= {{ band }} / 100.0
    ) as ranked_window_pos
    where block_rank <= {{ top_k }}
),

pairs as (
    select invoice_id, po_number, found_by from ref_pairs
    union all
    select invoice_id, po_number, found_by from window_pairs
),

unique_pairs as (
    select invoice_id, po_number, {{ string_agg_distinct('found_by', '+') }} as found_by
    from pairs
    group by invoice_id, po_number
),

-- the PO's receipt day that best explains the invoice amount (ties: the closer day, then the earlier day)
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
                     abs({{ days_between('receipt_days.received_date', 'invoices.invoice_date') }}) nulls last,
                     receipt_days.received_date
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
),

checked as (
    select
        features.*,
        coalesce(abs(quantity_ratio - 1) <= {{ qty_tolerance }} / 100.0, false) as quantity_within_tolerance,
        coalesce(abs(amount_ratio - 1) <= {{ tolerance }} / 100.0, false) as amount_within_tolerance,
        same_supplier and same_currency
        and coalesce(date_gap_days between -{{ after }} and {{ before }}, false)
        and coalesce(abs(quantity_ratio - 1) <= {{ qty_tolerance }} / 100.0, false)
        and coalesce(abs(amount_ratio - 1) <= {{ tolerance }} / 100.0, false) as rule_checks_pass
    from features
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
    cast(quantity_within_tolerance as boolean) as quantity_within_tolerance,
    cast(amount_within_tolerance as boolean) as amount_within_tolerance,
    cast(rule_checks_pass as boolean) as rule_checks_pass,
    cast(ref_exact and rule_checks_pass as boolean) as is_rule_match
from checked
