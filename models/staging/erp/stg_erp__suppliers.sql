{#- The latest version per supplier id of stg_erp__supplier_versions (which cleans every loaded version). -#}
select
    erp_supplier_id,
    supplier_name,
    vat_id,
    email,
    phone_raw,
    phone_e164,
    street,
    city,
    country_code,
    payment_terms_days,
    lead_time_days,
    updated_at,
    {{ lineage_columns() }}

from ({{ latest_version(ref('stg_erp__supplier_versions'), ['erp_supplier_id'], updated_at='updated_at') }}) as latest
