{#- Every loaded version of an ERP customer, cleaned; stg_erp__customers is the latest per customer number. -#}
select

    ----------  ids
    customer_id as erp_customer_id,

    ----------  attributes
    {{ clean_text('customer_name') }} as customer_name,
    {{ normalize_email('email') }} as email,
    {{ contact_columns('phone', 'street', 'city', 'country', postal_code='postal_code') }},
    {{ normalize_vat_id('vat_id') }} as vat_id,

    ----------  timestamps (UTC)
    created_at,
    updated_at,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from {{ source('erp', 'customers') }}
