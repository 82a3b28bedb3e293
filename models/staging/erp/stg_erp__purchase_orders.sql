select

    ----------  ids
    {{ clean_code('po_number') }} as erp_po_number,
    {{ clean_code('supplier_id') }} as erp_supplier_id,

    ----------  attributes
    lower(trim(status)) as po_status,
    {{ clean_code('currency') }} as currency_code,

    ----------  dates
    order_date,
    expected_date,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('erp', 'purchase_orders'), ['po_number']) }}) as source
