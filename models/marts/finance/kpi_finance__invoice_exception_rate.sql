{#- Share of AP invoices per invoice month that fail the three-way match (fct_ap_invoices.is_exception). -#}
select
    cast({{ month_start('invoice_date') }} as date) as month_start,
    cast(count(*) as integer) as n_invoices,
    cast(sum(case when is_exception then 1 else 0 end) as integer) as n_exceptions,
    cast(sum(case when has_no_po_match then 1 else 0 end) as integer) as n_no_po_match,
    cast(sum(case when has_amount_variance then 1 else 0 end) as integer) as n_amount_variance,
    cast(sum(case when is_possible_duplicate then 1 else 0 end) as integer) as n_possible_duplicates,
    cast(sum(case when is_exception then 1 else 0 end) * 1.0 / count(*) as {{ type_double() }}) as exception_rate
from {{ ref('fct_ap_invoices') }}
group by 1
