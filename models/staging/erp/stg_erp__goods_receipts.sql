select

    ----------  ids
    {{ clean_code('receipt_id') }} as erp_receipt_id,
    {{ clean_code('po_number') }} as erp_po_number,
    po_line_no,
    {{ clean_code('sku') }} as sku,
    {{ clean_code('location_id') }} as location_id,

    ----------  quantities
    quantity_received,

    ----------  dates
    received_date,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('erp', 'goods_receipts'), ['receipt_id']) }}) as source
