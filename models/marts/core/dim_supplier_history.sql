{#-
  SCD type 2 of the ERP supplier master: one row per ERP supplier per distinct state (name, VAT id, e-mail,
  phone, city, country, payment terms, lead time) with its validity interval, from every loaded version
  (macros/marts/scd2_from_versions.sql). Names and contact data masked as in dim_supplier. supplier_id is
  the ERP supplier's unified supplier today (bdg_supplier_source_ids).
-#}
with

states as (

    {{ scd2_from_versions(ref('stg_erp__supplier_versions'), 'erp_supplier_id',
                          ['supplier_name', 'vat_id', 'email', 'phone_e164', 'city', 'country_code',
                           'payment_terms_days', 'lead_time_days']) }}

)

select
    cast(bridge.supplier_id as {{ dbt.type_string() }}) as supplier_id,
    cast(states.erp_supplier_id as {{ dbt.type_string() }}) as erp_supplier_id,
    cast(states.version_number as integer) as version_number,
    cast(states.valid_from as timestamp) as valid_from,
    cast(states.valid_to as timestamp) as valid_to,
    cast(states.valid_to is null as boolean) as is_current,
    cast({{ public_party_name('states.supplier_name') }} as {{ dbt.type_string() }}) as supplier_name,
    cast(states.vat_id as {{ dbt.type_string() }}) as vat_id,
    cast({{ mask_email('states.email') }} as {{ dbt.type_string() }}) as email_masked,
    cast({{ mask_phone('states.phone_e164') }} as {{ dbt.type_string() }}) as phone_masked,
    cast(states.city as {{ dbt.type_string() }}) as city,
    cast(states.country_code as {{ dbt.type_string() }}) as country_code,
    cast(states.payment_terms_days as integer) as payment_terms_days,
    cast(states.lead_time_days as integer) as lead_time_days,
    cast(states._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(states._source_line as bigint) as _source_line,
    cast(states._load_id as {{ dbt.type_string() }}) as _load_id
from states
left join {{ ref('bdg_supplier_source_ids') }} as bridge
    on bridge.source_system = 'erp' and bridge.source_entity = 'suppliers' and bridge.source_id = states.erp_supplier_id
