{#- ERP suppliers and finance vendors, one row each, with normalised matching columns. -#}
with

erp_suppliers as (

    select
        'erp' as source_system,
        'suppliers' as source_entity,
        erp_supplier_id as source_id,
        supplier_name as display_name,
        email,
        phone_e164,
        vat_id,
        street,
        city,
        country_code
    from {{ ref('stg_erp__suppliers') }}

),

finance_vendors as (

    {#- No vendor master in the extracts: the latest AP invoice states the vendor's name and VAT id. -#}
    select
        'finance', 'vendors', finance_vendor_id, vendor_name,
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}), vendor_vat_id,
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }})
    from (
        {{ latest_version(ref('stg_finance__ap_invoices'), ['finance_vendor_id'], updated_at='invoice_date') }}
    ) as latest_invoice
    where finance_vendor_id is not null

),

unioned as (

    select * from erp_suppliers
    union all select * from finance_vendors

),

normalised as (

    select
        source_system || ':' || source_entity || ':' || source_id as record_key,
        source_system,
        source_entity,
        source_id,
        display_name,
        {{ er_name_clean('display_name') }} as name_clean,
        email,
        {{ er_email_domain('email') }} as email_domain,
        phone_e164,
        vat_id,
        {{ er_street_clean('street') }} as street,
        nullif(trim(lower({{ er_strip_accents('city') }})), '') as city,
        country_code
    from unioned

)

select
    record_key,
    source_system,
    source_entity,
    source_id,
    display_name,
    name_clean,
    {{ er_name_core('name_clean') }} as name_core,
    email,
    email_domain,
    {{ er_company_domain('email_domain') }} as company_domain,
    phone_e164,
    vat_id,
    {{ er_vat_core('vat_id') }} as vat_core,
    street,
    city,
    country_code
from normalised
