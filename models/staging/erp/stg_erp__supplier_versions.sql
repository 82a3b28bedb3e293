select

    ----------  ids
    supplier_id as erp_supplier_id,

    ----------  attributes
    {{ clean_text('supplier_name') }} as supplier_name,
    {{ normalize_vat_id('vat_id') }} as vat_id,
    {{ normalize_email('email') }} as email,
    {{ contact_columns('phone', 'street', 'city', 'country') }},

    ----------  terms
    payment_terms_days,
    lead_time_days,

    ----------  timestamps (UTC)
    updated_at,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from {{ source('erp', 'suppliers') }}
