{#-
  ERP products and the products support tickets mention (free text: a SKU in any spelling, the
  product name, or a garbled name), one row per product / per distinct normalised mention.
-#}
with

erp_products as (

    select
        'erp' as source_system,
        'products' as source_entity,
        sku as source_id,
        product_name as display_name,
        sku,
        category
    from {{ ref('stg_erp__products') }}
    where sku is not null

),

mentions as (

    {#- lower case, whitespace collapsed: 'Hammer Max 570' and 'hammer  max 570' are one mention. -#}
    select distinct
        lower(product_mentioned) as mention
    from {{ ref('stg_support__tickets') }}
    where product_mentioned is not null

),

support_mentions as (

    select
        'support', 'product_mentions', mention, mention, cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }})
    from mentions

),

unioned as (

    select * from erp_products
    union all select * from support_mentions

)

select
    source_system || ':' || source_entity || ':' || source_id as record_key,
    source_system,
    source_entity,
    source_id,
    display_name,
    sku,
    {#- a mention is matched to a SKU on its letters and digits: 'wrk7048' -> 'WRK7048' = 'WRK-7048' -#}
    {{ er_code_key('coalesce(sku, display_name)') }} as code_key,
    {{ er_name_clean('display_name') }} as name_clean,
    category
from unioned
