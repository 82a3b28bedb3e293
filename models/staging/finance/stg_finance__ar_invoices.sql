select

    ----------  ids
    {{ clean_code('invoice_id') }} as finance_ar_invoice_id,
    {{ clean_code('debtor_id') }} as finance_debtor_id,
    {{ clean_code('order_reference') }} as erp_sales_order_ref,

    ----------  debtor
    {{ clean_text('debtor_name') }} as debtor_name,
    {{ normalize_vat_id('debtor_vat_id') }} as debtor_vat_id,
    {{ normalize_email('debtor_email') }} as debtor_email,

    ----------  attributes
    lower(trim(status)) as invoice_status,

    ----------  amounts
    {{ clean_code('currency') }} as currency_code,
    total_amount,
    {{ to_base_currency('total_amount', 'currency', 'invoice_date') }} as total_amount_base,

    ----------  dates
    invoice_date,
    due_date,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('finance', 'ar_invoices'), ['invoice_id']) }}) as source
