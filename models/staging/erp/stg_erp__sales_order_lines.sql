select

    ----------  ids
    {{ clean_code('order_id') }} as erp_sales_order_id,
    line_no,
    {{ clean_code('sku') }} as sku,
    {{ clean_code('promotion_id') }} as crm_promotion_id,

    ----------  quantities and amounts
    quantity,
    unit_price,
    discount_pct,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('erp', 'sales_order_lines'), ['order_id', 'line_no']) }}) as source
