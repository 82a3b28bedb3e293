{#- The latest version per SKU of stg_erp__product_versions (which cleans every loaded version). -#}
select
    sku,
    erp_primary_supplier_id,
    product_name,
    category,
    is_active,
    currency_code,
    unit_price,
    unit_cost,
    unit_price_base,
    unit_cost_base,
    updated_at,
    {{ lineage_columns() }}

from ({{ latest_version(ref('stg_erp__product_versions'), ['sku'], updated_at='updated_at') }}) as latest
