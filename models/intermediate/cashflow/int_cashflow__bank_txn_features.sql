{#-
  One row per bank statement line with the features the anomaly scorer (orchestration/cashflow) uses.
  The counterparty is keyed by a hash of its IBAN, or of its name when the bank gives no IBAN (card
  merchants): names and IBANs never leave staging in clear.
    is_first_for_counterparty  first line ever booked with this counterparty (new payee / payer)
    has_payment_record         a finance payment document points at this line (invoice-backed flow)
    duplicate_of_txn_id        an earlier line, at most 14 days before, with the same counterparty, amount
                               and reference (the classic double payment)
    cp_* columns               the counterparty's history: robust centre / spread of log(|amount|)
-#}
with

lines as (
    select
        fct.finance_bank_txn_id,
        fct.account_iban_sha256,
        fct.booking_date,
        fct.direction,
        fct.amount_base,
        {{ hash_pii("coalesce(stg.counterparty_iban, lower(stg.counterparty_name), 'unknown')") }} as counterparty_key,
        {{ hash_pii("coalesce(stg.reference, '')") }} as reference_key,
        ln(abs(fct.amount_base) + 1) as log_abs_amount
    from {{ ref('fct_bank_transactions') }} as fct
    inner join {{ ref('stg_finance__bank_transactions') }} as stg
        on stg.finance_bank_txn_id = fct.finance_bank_txn_id
),
paid as (
    select distinct finance_bank_txn_id from {{ ref('fct_payments') }} where finance_bank_txn_id is not null
),
with_history as (
    select
        lines.*,
        paid.finance_bank_txn_id is not null as has_payment_record,
        row_number() over (
            partition by lines.counterparty_key order by lines.booking_date, lines.finance_bank_txn_id
        ) as cp_seq,
        count(*) over (partition by lines.counterparty_key) as cp_n_txns
    from lines
    left join paid on paid.finance_bank_txn_id = lines.finance_bank_txn_id
),
-- robust centre (median) and spread (median absolute deviation) of log(|amount|) per counterparty and
-- direction, aggregated per group and joined back (a median is not a window function everywhere);
-- counterparty_key and direction are never NULL, so the inner joins keep every line
cp_centre as (
    select counterparty_key, direction, {{ median('log_abs_amount') }} as cp_median_log_abs_amount
    from lines
    group by counterparty_key, direction
),
cp_spread as (
    select
        lines.counterparty_key,
        lines.direction,
        {{ median('abs(lines.log_abs_amount - cp_centre.cp_median_log_abs_amount)') }} as cp_mad_log_abs_amount
    from lines
    inner join cp_centre
        on cp_centre.counterparty_key = lines.counterparty_key and cp_centre.direction = lines.direction
    group by lines.counterparty_key, lines.direction
),
with_spread as (
    select
        with_history.*,
        cp_centre.cp_median_log_abs_amount,
        cp_spread.cp_mad_log_abs_amount,
        avg(case when with_history.has_payment_record then 1.0 else 0.0 end)
            over (partition by with_history.counterparty_key) as cp_share_with_payment_record
    from with_history
    inner join cp_centre
        on cp_centre.counterparty_key = with_history.counterparty_key and cp_centre.direction = with_history.direction
    inner join cp_spread
        on cp_spread.counterparty_key = with_history.counterparty_key and cp_spread.direction = with_history.direction
),
duplicates as (
    select later.finance_bank_txn_id, min(earlier.finance_bank_txn_id) as duplicate_of_txn_id
    from lines as later
    inner join lines as earlier
        on earlier.counterparty_key = later.counterparty_key
        and earlier.amount_base = later.amount_base
        and earlier.reference_key = later.reference_key
        and earlier.finance_bank_txn_id < later.finance_bank_txn_id
        and earlier.booking_date between {{ add_days('later.booking_date', -14) }} and later.booking_date
    group by later.finance_bank_txn_id
)

select
    cast(f.finance_bank_txn_id as {{ dbt.type_string() }}) as finance_bank_txn_id,
    cast(f.account_iban_sha256 as {{ dbt.type_string() }}) as account_iban_sha256,
    cast(f.counterparty_key as {{ dbt.type_string() }}) as counterparty_key,
    cast(f.booking_date as date) as booking_date,
    {{ date_part_number('isodow', 'f.booking_date') }} as iso_day_of_week,
    cast(f.direction as {{ dbt.type_string() }}) as direction,
    cast(f.amount_base as decimal(18, 4)) as amount_base,
    cast(f.log_abs_amount as {{ type_double() }}) as log_abs_amount,
    cast(f.has_payment_record as boolean) as has_payment_record,
    cast(f.cp_seq = 1 as boolean) as is_first_for_counterparty,
    cast(f.cp_n_txns as integer) as cp_n_txns,
    cast(f.cp_median_log_abs_amount as {{ type_double() }}) as cp_median_log_abs_amount,
    cast(f.cp_mad_log_abs_amount as {{ type_double() }}) as cp_mad_log_abs_amount,
    cast(f.cp_share_with_payment_record as {{ type_double() }}) as cp_share_with_payment_record,
    cast(d.duplicate_of_txn_id as {{ dbt.type_string() }}) as duplicate_of_txn_id
from with_spread as f
left join duplicates as d on d.finance_bank_txn_id = f.finance_bank_txn_id
