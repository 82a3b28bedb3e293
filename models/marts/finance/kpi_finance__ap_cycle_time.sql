{#- AP cycle time per month the invoice was received: days from receipt (invoice date if no receipt date) to last payment. -#}
with paid as (
    select
        {{ month_start('coalesce(received_date, invoice_date)') }} as month_start,
        {{ days_between('coalesce(received_date, invoice_date)', 'last_payment_date') }} as cycle_days
    from {{ ref('fct_ap_invoices') }}
    where last_payment_date is not null
)
select
    cast(month_start as date) as month_start,
    cast(count(*) as integer) as n_invoices_paid,
    cast(avg(cycle_days) as {{ type_double() }}) as avg_cycle_days,
    cast({{ median('cycle_days') }} as {{ type_double() }}) as median_cycle_days,
    cast(max(cycle_days) as integer) as max_cycle_days
from paid
group by month_start
