{#- The latest version per customer number of stg_erp__customer_versions (which cleans every loaded version). -#}
select
    erp_customer_id,
    customer_name,
    email,
    phone_raw,
    phone_e164,
    street,
    city,
    postal_code,
    country_code,
    vat_id,
    created_at,
    updated_at,
    {{ lineage_columns() }}

from ({{ latest_version(ref('stg_erp__customer_versions'), ['erp_customer_id'], updated_at='updated_at') }}) as latest
