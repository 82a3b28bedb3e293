{#- One row per payment; the counterparty is resolved through the invoice it settles (AR -> customer, AP -> supplier). -#}
with

payments as (select * from {{ ref('stg_finance__payments') }}),
ar as (select finance_ar_invoice_id, customer_id from {{ ref('fct_ar_invoices') }}),
ap as (select finance_ap_invoice_id, supplier_id from {{ ref('fct_ap_invoices') }})

select
    cast(payments.finance_payment_id as varchar) as finance_payment_id,
    cast(payments.finance_invoice_id as varchar) as finance_invoice_id,
    cast(ar.finance_ar_invoice_id as varchar) as finance_ar_invoice_id,
    cast(ap.finance_ap_invoice_id as varchar) as finance_ap_invoice_id,
    cast(ar.customer_id as varchar) as customer_id,
    cast(ap.supplier_id as varchar) as supplier_id,
    cast(payments.finance_bank_txn_id as varchar) as finance_bank_txn_id,
    cast(payments.payment_direction as varchar) as payment_direction,
    cast(payments.payment_method as varchar) as payment_method,
    cast(payments.currency_code as varchar) as currency_code,
    cast(payments.amount as decimal(18, 4)) as amount,
    cast(payments.amount_base as decimal(18, 4)) as amount_base,
    cast(payments.payment_date as date) as payment_date,
    cast(payments._source_file as varchar) as _source_file,
    cast(payments._load_id as varchar) as _load_id
from payments
left join ar on ar.finance_ar_invoice_id = payments.finance_invoice_id
left join ap on ap.finance_ap_invoice_id = payments.finance_invoice_id
