{#- Locations (warehouses / stores) seen in sales orders, goods receipts and inventory snapshots. -#}
with seen as (

    select location_id, order_date as seen_date, 'sales' as activity from {{ ref('stg_erp__sales_orders') }}
    union all
    select location_id, received_date, 'receiving' from {{ ref('stg_erp__goods_receipts') }}
    union all
    select location_id, snapshot_date, 'inventory' from {{ ref('stg_erp__inventory_snapshots') }}

)

select
    cast(location_id as {{ dbt.type_string() }}) as location_id,
    cast(min(seen_date) as date) as first_activity_date,
    cast(max(seen_date) as date) as last_activity_date,
    cast(max(case when activity = 'sales' then 1 else 0 end) = 1 as boolean) as has_sales,
    cast(max(case when activity = 'receiving' then 1 else 0 end) = 1 as boolean) as has_receiving
from seen
where location_id is not null
group by location_id
