{#-
  Cash position at each month end: for every bank account, the balance after its last transaction booked
  on or before the month end (carried forward through months without transactions), converted to base
  currency at that transaction's month rate; summed over accounts.
-#}
with

txns as (
    select account_iban_sha256, booking_date, finance_bank_txn_id, balance_after_base,
        {{ month_start('booking_date') }} as month_start
    from {{ ref('fct_bank_transactions') }}
),
last_in_month as (
    select * from (
        select txns.*, row_number() over (
            partition by account_iban_sha256, month_start order by booking_date desc, finance_bank_txn_id desc
        ) as rn
        from txns
    ) as ranked where rn = 1
),
months as (
    select distinct month_start from txns
),
carried as (
    select months.month_start, l.account_iban_sha256, l.balance_after_base,
        row_number() over (partition by months.month_start, l.account_iban_sha256 order by l.month_start desc) as rn
    from months
    inner join last_in_month as l on l.month_start <= months.month_start
)

select
    cast(month_start as date) as month_start,
    cast({{ month_end('month_start') }} as date) as month_end,
    cast(count(*) as integer) as n_accounts,
    cast(sum(balance_after_base) as decimal(18, 4)) as cash_position_base
from carried
where rn = 1
group by month_start
