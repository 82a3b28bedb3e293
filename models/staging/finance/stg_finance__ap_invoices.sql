select

    ----------  ids
    {{ clean_code('invoice_id') }} as finance_ap_invoice_id,
    {{ clean_code('vendor_id') }} as finance_vendor_id,
    trim(vendor_invoice_number) as vendor_invoice_number,
    {{ clean_code('po_reference') }} as po_reference,

    ----------  vendor
    {{ clean_text('vendor_name') }} as vendor_name,
    {{ normalize_vat_id('vendor_vat_id') }} as vendor_vat_id,

    ----------  attributes
    lower(trim(status)) as invoice_status,

    ----------  amounts
    {{ clean_code('currency') }} as currency_code,
    net_amount,
    tax_amount,
    total_amount,
    {{ to_base_currency('net_amount', 'currency', 'invoice_date') }} as net_amount_base,
    {{ to_base_currency('tax_amount', 'currency', 'invoice_date') }} as tax_amount_base,
    {{ to_base_currency('total_amount', 'currency', 'invoice_date') }} as total_amount_base,

    ----------  dates
    invoice_date,
    due_date,
    received_date,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('finance', 'ap_invoices'), ['invoice_id']) }}) as source
