select

    ----------  ids
    {{ clean_code('sku') }} as sku,
    {{ clean_code('primary_supplier_id') }} as erp_primary_supplier_id,

    ----------  attributes
    {{ clean_text('product_name') }} as product_name,
    {{ clean_text('category') }} as category,
    active as is_active,

    ----------  amounts
    {{ clean_code('currency') }} as currency_code,
    unit_price,
    unit_cost,
    {{ to_base_currency('unit_price', 'currency', 'updated_at') }} as unit_price_base,
    {{ to_base_currency('unit_cost', 'currency', 'updated_at') }} as unit_cost_base,

    ----------  timestamps (UTC)
    updated_at,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from {{ source('erp', 'products') }}
