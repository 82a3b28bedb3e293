{#-
  90-day cash projection from the last booked day (as_of_date), one row per future day:
    expected collections   open AR (open / overdue, unpaid remainder) on due date + the median days
                           customers have paid late (paid invoices); anything already past that lands
                           on the first projected day
    expected payments      open AP (open / approved; disputed invoices wait for their dispute) on due
                           date + the median days we have paid late
    recurring baseline     average daily net flow of bank lines with no payment document (payroll, tax,
                           fees, card spend) over the last 91 days
  projected_balance_base = today's cash position + the running sum of the three.
  Deliberately conservative: sales not yet invoiced are not projected.
-#}
with

position as (
    select date_day as as_of_date, cash_balance_base
    from {{ ref('fct_cash_daily_position') }}
    order by date_day desc
    limit 1
),
horizon as (
    select dim_date.date_day as projection_date,
        {{ days_between('position.as_of_date', 'dim_date.date_day') }} as horizon_day
    from position
    inner join {{ ref('dim_date') }} as dim_date
        on dim_date.date_day between {{ add_days('position.as_of_date', 1) }} and {{ add_days('position.as_of_date', 90) }}
),
ar_delay as (
    select coalesce({{ median(days_between('due_date', 'last_payment_date')) }}, 0) as days_late
    from {{ ref('fct_ar_invoices') }} where invoice_status = 'paid' and last_payment_date is not null
),
ap_delay as (
    select coalesce({{ median(days_between('due_date', 'last_payment_date')) }}, 0) as days_late
    from {{ ref('fct_ap_invoices') }} where invoice_status = 'paid' and last_payment_date is not null
),
collections as (
    select greatest({{ add_days('ar.due_date', 'cast(' ~ round_half_away_from_zero('ar_delay.days_late') ~ ' as integer)') }},
                    {{ add_days('position.as_of_date', 1) }}) as expected_date,
        sum(ar.total_amount_base - ar.paid_amount_base) as amount_base
    from {{ ref('fct_ar_invoices') }} as ar
    cross join ar_delay
    cross join position
    where ar.invoice_status in ('open', 'overdue') and ar.total_amount_base > ar.paid_amount_base
    group by 1
),
payments as (
    select greatest({{ add_days('ap.due_date', 'cast(' ~ round_half_away_from_zero('ap_delay.days_late') ~ ' as integer)') }},
                    {{ add_days('position.as_of_date', 1) }}) as expected_date,
        sum(ap.total_amount_base - ap.paid_amount_base) as amount_base
    from {{ ref('fct_ap_invoices') }} as ap
    cross join ap_delay
    cross join position
    where ap.invoice_status in ('open', 'approved') and ap.total_amount_base > ap.paid_amount_base
    group by 1
),
recurring as (
    select coalesce(sum(features.amount_base), 0) / 91.0 as daily_net_base
    from {{ ref('int_cashflow__bank_txn_features') }} as features
    cross join position
    where not features.has_payment_record
        and features.booking_date > {{ add_days('position.as_of_date', -91) }}
),
daily as (
    select horizon.projection_date, horizon.horizon_day,
        coalesce(collections.amount_base, 0) as expected_collections_base,
        coalesce(payments.amount_base, 0) as expected_payments_base,
        recurring.daily_net_base as recurring_net_flow_base
    from horizon
    cross join recurring
    left join collections on collections.expected_date = horizon.projection_date
    left join payments on payments.expected_date = horizon.projection_date
)

select
    cast(position.as_of_date as date) as as_of_date,
    cast(daily.projection_date as date) as projection_date,
    cast(daily.horizon_day as integer) as horizon_day,
    cast(position.cash_balance_base as decimal(18, 4)) as opening_balance_base,
    cast(daily.expected_collections_base as decimal(18, 4)) as expected_collections_base,
    cast(daily.expected_payments_base as decimal(18, 4)) as expected_payments_base,
    cast(daily.recurring_net_flow_base as decimal(18, 4)) as recurring_net_flow_base,
    cast(position.cash_balance_base + sum(daily.expected_collections_base - daily.expected_payments_base
        + daily.recurring_net_flow_base) over (order by daily.horizon_day) as decimal(18, 4)) as projected_balance_base
from daily
cross join position
