{#- One row per AR (customer) invoice, keyed to the unified customer (debtor id), with incoming payments. -#}
with

invoices as (select * from {{ ref('stg_finance__ar_invoices') }}),
payments as (
    select finance_invoice_id, max(payment_date) as last_payment_date, sum(amount_base) as paid_amount_base
    from {{ ref('stg_finance__payments') }}
    where payment_direction = 'incoming'
    group by finance_invoice_id
),
customers as (
    select source_id, customer_id from {{ ref('bdg_customer_source_ids') }}
    where source_system = 'finance' and source_entity = 'debtors'
)

select
    cast(invoices.finance_ar_invoice_id as {{ dbt.type_string() }}) as finance_ar_invoice_id,
    cast(customers.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(invoices.finance_debtor_id as {{ dbt.type_string() }}) as finance_debtor_id,
    cast(invoices.erp_sales_order_ref as {{ dbt.type_string() }}) as erp_sales_order_ref,
    cast(invoices.invoice_status as {{ dbt.type_string() }}) as invoice_status,
    cast(invoices.currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(invoices.total_amount as decimal(18, 4)) as total_amount,
    cast(invoices.total_amount_base as decimal(18, 4)) as total_amount_base,
    cast(invoices.invoice_date as date) as invoice_date,
    cast(invoices.due_date as date) as due_date,
    cast(payments.last_payment_date as date) as last_payment_date,
    cast(coalesce(payments.paid_amount_base, 0) as decimal(18, 4)) as paid_amount_base,
    cast(invoices._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(invoices._load_id as {{ dbt.type_string() }}) as _load_id
from invoices
left join payments on payments.finance_invoice_id = invoices.finance_ar_invoice_id
left join customers on customers.source_id = invoices.finance_debtor_id
