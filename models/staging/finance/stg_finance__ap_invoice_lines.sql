select

    ----------  ids
    {{ clean_code('invoice_id') }} as finance_ap_invoice_id,
    line_no,
    {{ clean_code('sku') }} as sku,

    ----------  attributes
    {{ clean_text(adapter.quote('description')) }} as line_description,

    ----------  quantities and amounts
    quantity,
    unit_price,
    line_amount,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('finance', 'ap_invoice_lines'), ['invoice_id', 'line_no']) }}) as source
