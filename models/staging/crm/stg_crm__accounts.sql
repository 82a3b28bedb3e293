select

    ----------  ids
    account_id as crm_account_id,

    ----------  attributes
    {{ clean_text('account_name') }} as account_name,
    nullif(trim(website), '') as website,
    {{ normalize_domain('website') }} as website_domain,
    {{ contact_columns('phone', 'street', 'city', 'country', postal_code='postal_code') }},
    {{ normalize_vat_id('vat_number') }} as vat_id,
    {{ clean_text('industry') }} as industry,

    ----------  timestamps (UTC)
    created_at,
    updated_at,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('crm', 'accounts'), ['account_id'], updated_at='updated_at') }}) as source
