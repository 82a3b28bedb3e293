{#- One row per bank statement line. IBANs are masked / hashed; the counterparty name is left out (personal data). -#}
select
    cast(finance_bank_txn_id as {{ dbt.type_string() }}) as finance_bank_txn_id,
    cast({{ mask_iban('account_iban') }} as {{ dbt.type_string() }}) as account_iban_masked,
    cast({{ hash_pii('account_iban') }} as {{ dbt.type_string() }}) as account_iban_sha256,
    cast({{ hash_pii('counterparty_iban') }} as {{ dbt.type_string() }}) as counterparty_iban_sha256,
    cast(case when amount >= 0 then 'credit' else 'debit' end as {{ dbt.type_string() }}) as direction,
    cast(currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(amount as decimal(18, 4)) as amount,
    cast(amount_base as decimal(18, 4)) as amount_base,
    cast(balance_after as decimal(18, 4)) as balance_after,
    {{ to_base_currency('bank.balance_after', 'bank.currency_code', 'bank.booking_date') }} as balance_after_base,
    cast(booking_date as date) as booking_date,
    cast(value_date as date) as value_date,
    cast(_source_file as {{ dbt.type_string() }}) as _source_file,
    cast(_load_id as {{ dbt.type_string() }}) as _load_id
from {{ ref('stg_finance__bank_transactions') }} as bank
