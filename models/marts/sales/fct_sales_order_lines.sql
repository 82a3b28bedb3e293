{#- One row per ERP sales order line, keyed to unified customer / product, amounts in base currency. -#}
{#- location_id is tested against dim_location: building dim_location first lets that test run in the same
    Dagster step as this model (orchestration/dbt/check_placement.py). -#}
-- depends_on: {{ ref('dim_location') }}
with

lines as (select * from {{ ref('stg_erp__sales_order_lines') }}),
orders as (select * from {{ ref('stg_erp__sales_orders') }}),
customers as (
    select source_id, customer_id from {{ ref('bdg_customer_source_ids') }}
    where source_system = 'erp' and source_entity = 'customers'
),
products as (
    select source_id, product_id from {{ ref('bdg_product_source_ids') }}
    where source_system = 'erp' and source_entity = 'products'
),

priced as (

    select
        lines.*,
        orders.erp_customer_id,
        orders.location_id,
        orders.order_status,
        orders.currency_code,
        orders.order_date,
        orders.requested_date,
        cast(lines.quantity * lines.unit_price * (1 - coalesce(lines.discount_pct, 0) / 100.0) as decimal(18, 4))
            as net_amount
    from lines
    left join orders
        on orders.erp_sales_order_id = lines.erp_sales_order_id

)

select
    cast(priced.erp_sales_order_id || '-' || cast(priced.line_no as {{ dbt.type_string() }}) as {{ dbt.type_string() }}) as sales_order_line_id,
    cast(priced.erp_sales_order_id as {{ dbt.type_string() }}) as erp_sales_order_id,
    cast(priced.line_no as integer) as line_no,
    cast(customers.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(priced.erp_customer_id as {{ dbt.type_string() }}) as erp_customer_id,
    cast(products.product_id as {{ dbt.type_string() }}) as product_id,
    cast(priced.sku as {{ dbt.type_string() }}) as sku,
    cast(priced.location_id as {{ dbt.type_string() }}) as location_id,
    cast(priced.crm_promotion_id as {{ dbt.type_string() }}) as crm_promotion_id,
    cast(priced.order_status as {{ dbt.type_string() }}) as order_status,
    cast(priced.order_date as date) as order_date,
    cast(priced.requested_date as date) as requested_date,
    cast(priced.currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(priced.quantity as bigint) as quantity,
    cast(priced.unit_price as decimal(18, 4)) as unit_price,
    cast(priced.discount_pct as decimal(18, 4)) as discount_pct,
    priced.net_amount,
    {{ to_base_currency('priced.net_amount', 'priced.currency_code', 'priced.order_date') }} as net_amount_base,
    cast(priced._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(priced._load_id as {{ dbt.type_string() }}) as _load_id
from priced
left join customers on customers.source_id = priced.erp_customer_id
left join products on products.source_id = priced.sku
