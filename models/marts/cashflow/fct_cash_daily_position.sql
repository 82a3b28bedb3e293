{#-
  Daily cash position: for every calendar day from the first to the last booking, the balance of each
  bank account after its last line booked on or before that day (carried forward), converted to base
  currency at that day's monthly rate and summed; with the day's in/outflows and the AR / AP open on
  that day (invoice total from invoice date until its last payment; written-off AR excluded, as the
  write-off date is unknown).
  Note: kpi_finance__cash_position converts each balance at the rate of its *transaction's* month; here the rate
  of the reporting day is used, so the two differ slightly for GBP / USD accounts.
-#}
with

bank as (select * from {{ ref('fct_bank_transactions') }}),
bounds as (select min(booking_date) as first_day, max(booking_date) as last_day from bank),
days as (
    select dim_date.date_day
    from {{ ref('dim_date') }} as dim_date
    inner join bounds on dim_date.date_day between bounds.first_day and bounds.last_day
),
accounts as (select distinct account_iban_sha256, currency_code from bank),
last_per_day as (
    select * from (
        select account_iban_sha256, booking_date, balance_after,
            row_number() over (partition by account_iban_sha256, booking_date order by finance_bank_txn_id desc) as rn
        from bank
    ) as ranked where rn = 1
),
account_days as (
    select days.date_day, accounts.account_iban_sha256, accounts.currency_code as account_currency,
        -- carry the last known balance forward through days without lines
        {{ last_value_ignore_nulls('last_per_day.balance_after', 'accounts.account_iban_sha256', 'days.date_day') }}
            as balance
    from days
    cross join accounts
    left join last_per_day
        on last_per_day.account_iban_sha256 = accounts.account_iban_sha256 and last_per_day.booking_date = days.date_day
),
positions as (
    select date_day,
        count(balance) as n_accounts,
        sum({{ to_base_currency('balance', 'account_currency', 'date_day') }}) as cash_balance_base
    from account_days
    group by date_day
),
flows as (
    select booking_date as date_day,
        sum(case when amount_base >= 0 then amount_base else 0 end) as inflow_base,
        sum(case when amount_base < 0 then -amount_base else 0 end) as outflow_base
    from bank
    group by booking_date
),
ar_events as (
    select invoice_date as event_day, total_amount_base as delta from {{ ref('fct_ar_invoices') }}
    where invoice_status <> 'written_off'
    union all
    select last_payment_date, -least(paid_amount_base, total_amount_base) from {{ ref('fct_ar_invoices') }}
    where invoice_status <> 'written_off' and last_payment_date is not null
),
ap_events as (
    select invoice_date as event_day, total_amount_base as delta from {{ ref('fct_ap_invoices') }}
    union all
    select last_payment_date, -least(paid_amount_base, total_amount_base) from {{ ref('fct_ap_invoices') }}
    where last_payment_date is not null
),
ar_daily as (select event_day, sum(delta) as delta from ar_events group by event_day),
ap_daily as (select event_day, sum(delta) as delta from ap_events group by event_day),
open_items as (
    select days.date_day,
        sum(coalesce(ar_daily.delta, 0)) over (order by days.date_day) as open_ar_since_start,
        sum(coalesce(ap_daily.delta, 0)) over (order by days.date_day) as open_ap_since_start
    from days
    left join ar_daily on ar_daily.event_day = days.date_day
    left join ap_daily on ap_daily.event_day = days.date_day
),
-- items invoiced / paid before the bank feed starts
opening_items as (
    select
        (select coalesce(sum(ar_daily.delta), 0) from ar_daily, bounds where ar_daily.event_day < bounds.first_day) as open_ar,
        (select coalesce(sum(ap_daily.delta), 0) from ap_daily, bounds where ap_daily.event_day < bounds.first_day) as open_ap
)

select
    cast(positions.date_day as date) as date_day,
    cast(positions.n_accounts as integer) as n_accounts,
    cast(positions.cash_balance_base as decimal(18, 4)) as cash_balance_base,
    cast(coalesce(flows.inflow_base, 0) as decimal(18, 4)) as inflow_base,
    cast(coalesce(flows.outflow_base, 0) as decimal(18, 4)) as outflow_base,
    cast(opening_items.open_ar + open_items.open_ar_since_start as decimal(18, 4)) as open_ar_base,
    cast(opening_items.open_ap + open_items.open_ap_since_start as decimal(18, 4)) as open_ap_base,
    cast(positions.cash_balance_base + opening_items.open_ar + open_items.open_ar_since_start
        - opening_items.open_ap - open_items.open_ap_since_start as decimal(18, 4)) as net_liquidity_base
from positions
inner join open_items on open_items.date_day = positions.date_day
cross join opening_items
left join flows on flows.date_day = positions.date_day
