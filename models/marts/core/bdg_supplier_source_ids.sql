{#- Every supplier source id -> unified supplier id, straight from entity_resolution.entity_map. -#}
select
    cast(unified_id as {{ dbt.type_string() }}) as supplier_id,
    cast(source_system as {{ dbt.type_string() }}) as source_system,
    cast(source_entity as {{ dbt.type_string() }}) as source_entity,
    cast(source_id as {{ dbt.type_string() }}) as source_id,
    cast(match_rule as {{ dbt.type_string() }}) as match_rule,
    cast(match_score as {{ type_double() }}) as match_score,
    cast(resolved_at as timestamp) as resolved_at,
    cast(er_run_id as {{ dbt.type_string() }}) as er_run_id
from {{ source('entity_resolution', 'entity_map') }}
where entity_type = 'supplier'
