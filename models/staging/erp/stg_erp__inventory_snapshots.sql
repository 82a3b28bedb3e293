select

    ----------  ids
    snapshot_date,
    {{ clean_code('location_id') }} as location_id,
    {{ clean_code('sku') }} as sku,

    ----------  quantities
    on_hand_qty,
    on_order_qty,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('erp', 'inventory_snapshots'), ['snapshot_date', 'location_id', 'sku']) }}) as source
