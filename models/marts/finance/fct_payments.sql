{#- One row per payment; the counterparty is resolved through the invoice it settles (AR -> customer, AP -> supplier). -#}
with

payments as (select * from {{ ref('stg_finance__payments') }}),
ar as (select finance_ar_invoice_id, customer_id from {{ ref('fct_ar_invoices') }}),
ap as (select finance_ap_invoice_id, supplier_id from {{ ref('fct_ap_invoices') }})

select
    cast(payments.finance_payment_id as {{ dbt.type_string() }}) as finance_payment_id,
    cast(payments.finance_invoice_id as {{ dbt.type_string() }}) as finance_invoice_id,
    cast(ar.finance_ar_invoice_id as {{ dbt.type_string() }}) as finance_ar_invoice_id,
    cast(ap.finance_ap_invoice_id as {{ dbt.type_string() }}) as finance_ap_invoice_id,
    cast(ar.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(ap.supplier_id as {{ dbt.type_string() }}) as supplier_id,
    cast(payments.finance_bank_txn_id as {{ dbt.type_string() }}) as finance_bank_txn_id,
    cast(payments.payment_direction as {{ dbt.type_string() }}) as payment_direction,
    cast(payments.payment_method as {{ dbt.type_string() }}) as payment_method,
    cast(payments.currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(payments.amount as decimal(18, 4)) as amount,
    cast(payments.amount_base as decimal(18, 4)) as amount_base,
    cast(payments.payment_date as date) as payment_date,
    cast(payments._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(payments._load_id as {{ dbt.type_string() }}) as _load_id
from payments
left join ar on ar.finance_ar_invoice_id = payments.finance_invoice_id
left join ap on ap.finance_ap_invoice_id = payments.finance_invoice_id
