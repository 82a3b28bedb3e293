{#-
  DSO and DPO per month (balances at month end, flows within the month, days = days in the month).
    ar_outstanding_base = sum over AR invoices dated <= month end of max(total - payments up to month end, 0)
    dso_days            = ar_outstanding_base / ar_invoiced_base * days_in_month
    ap_outstanding_base / ap_invoiced_base / dpo_days likewise for AP invoices and outgoing payments.
  Written-off AR invoices are excluded.
-#}
with

months as (
    select distinct month_start, month_end from {{ ref('dim_date') }}
    where date_day between (select min(ar.invoice_date) from {{ ref('fct_ar_invoices') }} as ar)
        and (select max(ar.invoice_date) from {{ ref('fct_ar_invoices') }} as ar)
),
documents as (
    select 'ar' as side, finance_ar_invoice_id as invoice_id, invoice_date, total_amount_base
    from {{ ref('fct_ar_invoices') }} where invoice_status <> 'written_off'
    union all
    select 'ap', finance_ap_invoice_id, invoice_date, total_amount_base from {{ ref('fct_ap_invoices') }}
),
payments as (
    select coalesce(finance_ar_invoice_id, finance_ap_invoice_id) as invoice_id, payment_date, amount_base
    from {{ ref('fct_payments') }}
),
outstanding as (
    select months.month_start, documents.side, documents.invoice_id,
        max(documents.total_amount_base) - coalesce(sum(payments.amount_base), 0) as open_amount
    from months
    inner join documents on documents.invoice_date <= months.month_end
    left join payments on payments.invoice_id = documents.invoice_id and payments.payment_date <= months.month_end
    group by 1, 2, 3
),
balances as (
    select month_start,
        sum(case when side = 'ar' and open_amount > 0 then open_amount else 0 end) as ar_outstanding_base,
        sum(case when side = 'ap' and open_amount > 0 then open_amount else 0 end) as ap_outstanding_base
    from outstanding group by 1
),
flows as (
    select months.month_start,
        sum(case when documents.side = 'ar' then documents.total_amount_base else 0 end) as ar_invoiced_base,
        sum(case when documents.side = 'ap' then documents.total_amount_base else 0 end) as ap_invoiced_base
    from months
    left join documents on documents.invoice_date between months.month_start and months.month_end
    group by 1
)

select
    cast(months.month_start as date) as month_start,
    cast({{ days_between('months.month_start', 'months.month_end') }} + 1 as integer) as days_in_month,
    cast(coalesce(balances.ar_outstanding_base, 0) as decimal(18, 4)) as ar_outstanding_base,
    cast(flows.ar_invoiced_base as decimal(18, 4)) as ar_invoiced_base,
    cast(coalesce(balances.ar_outstanding_base, 0) / nullif(flows.ar_invoiced_base, 0)
        * ({{ days_between('months.month_start', 'months.month_end') }} + 1) as {{ type_double() }}) as dso_days,
    cast(coalesce(balances.ap_outstanding_base, 0) as decimal(18, 4)) as ap_outstanding_base,
    cast(flows.ap_invoiced_base as decimal(18, 4)) as ap_invoiced_base,
    cast(coalesce(balances.ap_outstanding_base, 0) / nullif(flows.ap_invoiced_base, 0)
        * ({{ days_between('months.month_start', 'months.month_end') }} + 1) as {{ type_double() }}) as dpo_days
from months
left join balances on balances.month_start = months.month_start
left join flows on flows.month_start = months.month_start
