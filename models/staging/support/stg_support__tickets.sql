select

    ----------  ids
    {{ clean_code('ticket_id') }} as support_ticket_id,

    ----------  customer
    {{ normalize_email('customer_email') }} as customer_email,
    {{ clean_text('customer_name') }} as customer_name,

    ----------  content
    {{ clean_text('subject') }} as subject,
    body,
    {{ clean_text('product_mentioned') }} as product_mentioned,
    resolution,

    ----------  classification
    lower(trim(category)) as ticket_category,
    lower(trim(priority)) as priority,
    lower(trim(channel)) as channel,
    lower(trim(status)) as ticket_status,
    contact_count,

    ----------  timestamps (UTC)
    created_at,
    first_response_at,
    resolved_at,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('support', 'tickets'), ['ticket_id']) }}) as source
