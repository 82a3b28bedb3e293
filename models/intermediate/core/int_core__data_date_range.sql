{#-
  The span of the data, from the data: the earliest and latest business-event date over every source
  system (orders and their requested dates, purchase orders and expected dates, receipts, stock
  snapshots, promotions, AP / AR invoices and due dates, payments, bank bookings and value dates,
  opportunities, tickets), and the calendar dim_date builds from it: whole months from the month of the
  first event to the month of the last event plus var('calendar_days_ahead') days (forecasts and the cash
  projection read days after the data). No fixed window anywhere: data from 2016 or from 2031 gets its
  calendar. One row (NULL dates while no source has data).
-#}
{%- set days_ahead = var('calendar_days_ahead', 120) -%}
{%- set event_dates = [
    ('stg_erp__sales_orders', 'order_date'), ('stg_erp__sales_orders', 'requested_date'),
    ('stg_erp__purchase_orders', 'order_date'), ('stg_erp__purchase_orders', 'expected_date'),
    ('stg_erp__goods_receipts', 'received_date'), ('stg_erp__inventory_snapshots', 'snapshot_date'),
    ('stg_crm__promotions', 'start_date'), ('stg_crm__promotions', 'end_date'),
    ('stg_crm__opportunities', 'close_date'),
    ('stg_finance__ap_invoices', 'invoice_date'), ('stg_finance__ap_invoices', 'due_date'),
    ('stg_finance__ap_invoices', 'received_date'),
    ('stg_finance__ar_invoices', 'invoice_date'), ('stg_finance__ar_invoices', 'due_date'),
    ('stg_finance__payments', 'payment_date'),
    ('stg_finance__bank_transactions', 'booking_date'), ('stg_finance__bank_transactions', 'value_date'),
    ('stg_support__tickets', 'created_at'),
] -%}
with

event_dates as (
    {%- for model, column in event_dates %}
    select min(cast({{ column }} as date)) as first_date, max(cast({{ column }} as date)) as last_date
    from {{ ref(model) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

span as (
    select min(first_date) as first_event_date, max(last_date) as last_event_date
    from event_dates
)

select
    cast(first_event_date as date) as first_event_date,
    cast(last_event_date as date) as last_event_date,
    cast({{ days_ahead }} as integer) as calendar_days_ahead,
    cast({{ month_start('first_event_date') }} as date) as calendar_start,
    cast({{ month_end(add_days('last_event_date', days_ahead)) }} as date) as calendar_end
from span
