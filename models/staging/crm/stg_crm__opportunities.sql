select

    ----------  ids
    opportunity_id as crm_opportunity_id,
    account_id as crm_account_id,

    ----------  attributes
    {{ clean_text('opportunity_name') }} as opportunity_name,
    lower(trim(stage)) as stage,

    ----------  amounts
    {{ clean_code('currency') }} as currency_code,
    amount,
    {{ to_base_currency('amount', 'currency', 'coalesce(close_date, cast(created_at as date))') }} as amount_base,

    ----------  dates
    close_date,

    ----------  timestamps (UTC)
    created_at,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('crm', 'opportunities'), ['opportunity_id']) }}) as source
