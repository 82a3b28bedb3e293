{#-
  AP reconciliation KPIs per invoice month (from fct_ap_invoice_outcomes):
    auto_match_rate             : invoices matched with no human touch / invoices
    exception_rate              : invoices that needed (or still need) a human / invoices
    duplicate_payments_prevented: invoices flagged as duplicates that were not paid; with their amount
    avg_cycle_time_days         : received by AP -> last payment, over paid invoices (AP cycle time)
    n_held_by_safe_mode         : invoices the machine would have auto-matched, held for review by the open AP breaker
    n_auto_matches_reversed     : machine auto-matches a reviewer rejected or moved to another PO (the breaker's live KPI)
-#}
with outcomes as (select * from {{ ref('fct_ap_invoice_outcomes') }})

select
    cast({{ month_start('invoice_date') }} as date) as month_start,
    cast(count(*) as integer) as n_invoices,
    cast(sum(case when outcome = 'auto_matched' then 1 else 0 end) as integer) as n_auto_matched,
    cast(sum(case when outcome <> 'auto_matched' then 1 else 0 end) as integer) as n_exceptions,
    cast(sum(case when is_in_review_queue then 1 else 0 end) as integer) as n_open_exceptions,
    cast(sum(case when outcome in ('matched_by_review', 'rejected_by_review') then 1 else 0 end) as integer)
        as n_decided_by_review,
    cast(sum(case when outcome = 'auto_matched' then 1 else 0 end) * 1.0 / count(*) as {{ type_double() }}) as auto_match_rate,
    cast(sum(case when outcome <> 'auto_matched' then 1 else 0 end) * 1.0 / count(*) as {{ type_double() }}) as exception_rate,
    cast(sum(case when exception_reason = 'duplicate_invoice' and coalesce(paid_amount_base, 0) = 0 then 1 else 0 end)
        as integer) as n_duplicate_payments_prevented,
    cast(coalesce(sum(case when exception_reason = 'duplicate_invoice' and coalesce(paid_amount_base, 0) = 0
        then total_amount_base end), 0) as decimal(18, 4)) as duplicate_amount_prevented_base,
    cast(avg(case when last_payment_date is not null
        then {{ days_between('received_date', 'last_payment_date') }} end) as {{ type_double() }}) as avg_cycle_time_days,
    cast(sum(case when exception_reason = 'safe_mode' then 1 else 0 end) as integer) as n_held_by_safe_mode,
    cast(sum(case when is_auto_match_reversed then 1 else 0 end) as integer) as n_auto_matches_reversed
from outcomes
group by 1
