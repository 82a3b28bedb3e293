{#- The AP review queue: exceptions without a human decision, most valuable first. -#}
select
    invoice_id,
    supplier_id,
    exception_reason,
    suggested_po_number,
    best_match_score,
    duplicate_of_invoice_id,
    po_reference,
    invoice_date,
    received_date,
    total_amount_base
from {{ ref('fct_ap_invoice_outcomes') }}
where is_in_review_queue
