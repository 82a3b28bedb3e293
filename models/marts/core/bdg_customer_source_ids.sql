{#-
  Every customer source id -> unified customer id. Resolved records come from entity_resolution.entity_map;
  CRM contacts that entity resolution did not resolve themselves inherit the unified id of their account.
-#}
with

entity_map as (

    select * from {{ source('entity_resolution', 'entity_map') }}
    where entity_type = 'customer'

),

contacts as (

    select
        entity_map.unified_id as customer_id,
        'crm' as source_system,
        'contacts' as source_entity,
        contacts.crm_contact_id as source_id,
        contacts.crm_account_id as parent_source_id,
        'inherited_from_crm_account' as match_rule,
        entity_map.match_score,
        entity_map.resolved_at,
        entity_map.er_run_id
    from {{ ref('stg_crm__contacts') }} as contacts
    inner join entity_map
        on entity_map.source_system = 'crm' and entity_map.source_entity = 'accounts'
        and entity_map.source_id = contacts.crm_account_id
    where not exists (
        select 1 from entity_map as resolved_contact
        where resolved_contact.source_system = 'crm' and resolved_contact.source_entity = 'contacts'
            and resolved_contact.source_id = contacts.crm_contact_id
    )

),

resolved as (

    select
        unified_id as customer_id,
        source_system,
        source_entity,
        source_id,
        cast(null as {{ dbt.type_string() }}) as parent_source_id,
        match_rule,
        match_score,
        resolved_at,
        er_run_id
    from entity_map

)

select
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(source_system as {{ dbt.type_string() }}) as source_system,
    cast(source_entity as {{ dbt.type_string() }}) as source_entity,
    cast(source_id as {{ dbt.type_string() }}) as source_id,
    cast(parent_source_id as {{ dbt.type_string() }}) as parent_source_id,
    cast(match_rule as {{ dbt.type_string() }}) as match_rule,
    cast(match_score as {{ type_double() }}) as match_score,
    cast(resolved_at as timestamp) as resolved_at,
    cast(er_run_id as {{ dbt.type_string() }}) as er_run_id
from (
    select * from resolved
    union all
    select * from contacts
) as unioned
