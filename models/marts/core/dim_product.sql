{#-
  Golden product record: attributes of the most recently updated ERP SKU of the unified product (ties:
  smallest SKU); primary supplier mapped to its unified supplier id.
-#}
with

bridge as (

    select * from {{ ref('bdg_product_source_ids') }}

),

erp_products as (

    select
        bridge.product_id,
        p.*,
        row_number() over (partition by bridge.product_id order by p.updated_at desc nulls last, p.sku) as survivor_rank
    from {{ ref('stg_erp__products') }} as p
    inner join bridge
        on bridge.source_system = 'erp' and bridge.source_entity = 'products' and bridge.source_id = p.sku

),

counts as (

    select
        product_id,
        cast(count(distinct case when source_system = 'erp' then source_id end) as integer) as n_erp_skus,
        cast(count(distinct case when source_system = 'support' then source_id end) as integer) as n_support_mentions
    from bridge
    group by product_id

)

select
    cast(counts.product_id as {{ dbt.type_string() }}) as product_id,
    cast(erp_products.sku as {{ dbt.type_string() }}) as sku,
    cast(erp_products.product_name as {{ dbt.type_string() }}) as product_name,
    cast(erp_products.category as {{ dbt.type_string() }}) as category,
    cast(erp_products.is_active as boolean) as is_active,
    cast(erp_products.unit_price_base as decimal(18, 4)) as unit_price_base,
    cast(erp_products.unit_cost_base as decimal(18, 4)) as unit_cost_base,
    cast(suppliers.supplier_id as {{ dbt.type_string() }}) as primary_supplier_id,
    cast(erp_products.erp_primary_supplier_id as {{ dbt.type_string() }}) as erp_primary_supplier_id,
    counts.n_erp_skus,
    counts.n_support_mentions
from counts
left join erp_products
    on erp_products.product_id = counts.product_id and erp_products.survivor_rank = 1
left join {{ ref('bdg_supplier_source_ids') }} as suppliers
    on suppliers.source_system = 'erp' and suppliers.source_id = erp_products.erp_primary_supplier_id
