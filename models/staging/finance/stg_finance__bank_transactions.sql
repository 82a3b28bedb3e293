select

    ----------  ids
    {{ clean_code('txn_id') }} as finance_bank_txn_id,
    {{ normalize_iban('account_iban') }} as account_iban,

    ----------  counterparty
    {{ clean_text('counterparty_name') }} as counterparty_name,
    {{ normalize_iban('counterparty_iban') }} as counterparty_iban,
    {{ clean_text('reference') }} as reference,

    ----------  amounts
    {{ clean_code('currency') }} as currency_code,
    amount,
    {{ to_base_currency('amount', 'currency', 'booking_date') }} as amount_base,
    balance_after,

    ----------  dates
    booking_date,
    value_date,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('finance', 'bank_transactions'), ['txn_id']) }}) as source
