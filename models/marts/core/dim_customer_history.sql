{#-
  SCD type 2 of the ERP customer master: one row per ERP customer per distinct state of the attributes
  dim_customer publishes (name, e-mail, phone, country) with its validity interval, from every loaded version
  (macros/marts/scd2_from_versions.sql). Street, postal code, city and VAT id are not part of a state: a customer
  may be a person (a sole trader), dim_customer publishes none of them, and a state that differed only in an
  unpublished column would show as two equal rows. Name and contact data masked or pseudonymised as in
  dim_customer. customer_id is the ERP customer's unified customer today (bdg_customer_source_ids).
-#}
with

states as (

    {{ scd2_from_versions(ref('stg_erp__customer_versions'), 'erp_customer_id',
                          ['customer_name', 'email', 'phone_e164', 'country_code']) }}

)

select
    cast(bridge.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(states.erp_customer_id as {{ dbt.type_string() }}) as erp_customer_id,
    cast(states.version_number as integer) as version_number,
    cast(states.valid_from as timestamp) as valid_from,
    cast(states.valid_to as timestamp) as valid_to,
    cast(states.valid_to is null as boolean) as is_current,
    cast({{ public_party_name('states.customer_name', legal_name('states.customer_name')) }} as {{ dbt.type_string() }}) as legal_name,
    cast({{ legal_form('states.customer_name') }} as {{ dbt.type_string() }}) as legal_form,
    cast({{ mask_email('states.email') }} as {{ dbt.type_string() }}) as email_masked,
    cast({{ hash_pii('states.email') }} as {{ dbt.type_string() }}) as email_sha256,
    cast({{ mask_phone('states.phone_e164') }} as {{ dbt.type_string() }}) as phone_masked,
    cast(states.country_code as {{ dbt.type_string() }}) as country_code,
    cast(states._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(states._source_line as bigint) as _source_line,
    cast(states._load_id as {{ dbt.type_string() }}) as _load_id
from states
left join {{ ref('bdg_customer_source_ids') }} as bridge
    on bridge.source_system = 'erp' and bridge.source_entity = 'customers' and bridge.source_id = states.erp_customer_id
