select

    ----------  ids
    {{ clean_code('order_id') }} as erp_sales_order_id,
    {{ clean_code('customer_id') }} as erp_customer_id,
    {{ clean_code('location_id') }} as location_id,

    ----------  attributes
    lower(trim(status)) as order_status,
    {{ clean_code('currency') }} as currency_code,

    ----------  dates
    order_date,
    requested_date,

    ----------  timestamps (UTC)
    updated_at,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('erp', 'sales_orders'), ['order_id'], updated_at='updated_at') }}) as source
