{#- One row per (snapshot date, location, SKU): stock on hand / on order, valued at the product's base-currency unit cost. -#}
with

snapshots as (select * from {{ ref('stg_erp__inventory_snapshots') }}),
products as (
    select bridge.source_id, bridge.product_id, p.unit_cost_base
    from {{ ref('bdg_product_source_ids') }} as bridge
    left join {{ ref('stg_erp__products') }} as p on p.sku = bridge.source_id
    where bridge.source_system = 'erp' and bridge.source_entity = 'products'
)

select
    cast(cast(snapshots.snapshot_date as {{ dbt.type_string() }}) || '|' || snapshots.location_id || '|' || snapshots.sku as {{ dbt.type_string() }})
        as inventory_snapshot_id,
    cast(snapshots.snapshot_date as date) as snapshot_date,
    cast(snapshots.location_id as {{ dbt.type_string() }}) as location_id,
    cast(snapshots.sku as {{ dbt.type_string() }}) as sku,
    cast(products.product_id as {{ dbt.type_string() }}) as product_id,
    cast(snapshots.on_hand_qty as bigint) as on_hand_qty,
    cast(snapshots.on_order_qty as bigint) as on_order_qty,
    cast(products.unit_cost_base as decimal(18, 4)) as unit_cost_base,
    cast(snapshots.on_hand_qty * products.unit_cost_base as decimal(18, 4)) as on_hand_value_base,
    cast(snapshots._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(snapshots._load_id as {{ dbt.type_string() }}) as _load_id
from snapshots
left join products on products.source_id = snapshots.sku
