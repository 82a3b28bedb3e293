{#-
  SCD type 2 of the ERP product master: one row per SKU per distinct state (name, category, active flag,
  currency, list price, cost, primary supplier) with its validity interval, from every loaded version
  (macros/marts/scd2_from_versions.sql). Prices in the base currency are at the rate of the month the state
  began. product_id is the SKU's unified product today (bdg_product_source_ids).
-#}
with

states as (

    {{ scd2_from_versions(ref('stg_erp__product_versions'), 'sku',
                          ['product_name', 'category', 'is_active', 'currency_code', 'unit_price', 'unit_cost',
                           'erp_primary_supplier_id']) }}

)

select
    cast(bridge.product_id as {{ dbt.type_string() }}) as product_id,
    cast(states.sku as {{ dbt.type_string() }}) as sku,
    cast(states.version_number as integer) as version_number,
    cast(states.valid_from as timestamp) as valid_from,
    cast(states.valid_to as timestamp) as valid_to,
    cast(states.valid_to is null as boolean) as is_current,
    cast(states.product_name as {{ dbt.type_string() }}) as product_name,
    cast(states.category as {{ dbt.type_string() }}) as category,
    cast(states.is_active as boolean) as is_active,
    cast(states.currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(states.unit_price as decimal(18, 4)) as unit_price,
    cast(states.unit_cost as decimal(18, 4)) as unit_cost,
    cast(states.unit_price_base as decimal(18, 4)) as unit_price_base,
    cast(states.unit_cost_base as decimal(18, 4)) as unit_cost_base,
    cast(states.erp_primary_supplier_id as {{ dbt.type_string() }}) as erp_primary_supplier_id,
    cast(states._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(states._source_line as bigint) as _source_line,
    cast(states._load_id as {{ dbt.type_string() }}) as _load_id
from states
left join {{ ref('bdg_product_source_ids') }} as bridge
    on bridge.source_system = 'erp' and bridge.source_entity = 'products' and bridge.source_id = states.sku
