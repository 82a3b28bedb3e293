select

    ----------  ids
    {{ clean_code('payment_id') }} as finance_payment_id,
    {{ clean_code('invoice_id') }} as finance_invoice_id,
    {{ clean_code('bank_txn_id') }} as finance_bank_txn_id,

    ----------  attributes
    lower(trim(direction)) as payment_direction,
    lower(trim(method)) as payment_method,
    {{ clean_text('counterparty_name') }} as counterparty_name,

    ----------  amounts
    {{ clean_code('currency') }} as currency_code,
    amount,
    {{ to_base_currency('amount', 'currency', 'payment_date') }} as amount_base,

    ----------  dates
    payment_date,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('finance', 'payments'), ['payment_id']) }}) as source
