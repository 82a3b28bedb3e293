select

    ----------  ids
    {{ clean_code('po_number') }} as erp_po_number,
    line_no,
    {{ clean_code('sku') }} as sku,

    ----------  quantities and amounts
    quantity,
    unit_cost,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('erp', 'purchase_order_lines'), ['po_number', 'line_no']) }}) as source
