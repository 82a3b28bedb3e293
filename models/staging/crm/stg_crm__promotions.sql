select

    ----------  ids
    {{ clean_code('promotion_id') }} as crm_promotion_id,
    {{ clean_code('sku') }} as sku,

    ----------  attributes
    {{ clean_text('promotion_name') }} as promotion_name,
    lower(trim(channel)) as channel,
    discount_pct,

    ----------  dates
    start_date,
    end_date,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('crm', 'promotions'), ['promotion_id']) }}) as source
