select

    ----------  ids
    {{ clean_code('article_id') }} as support_article_id,
    {{ clean_code('sku') }} as sku,

    ----------  content
    {{ clean_text('title') }} as title,
    body,
    {{ clean_text('category') }} as category,

    ----------  timestamps (UTC)
    updated_at,

    ----------  lineage: _load_id, _source_file, _source_line, _loaded_at
    {{ lineage_columns() }}

from ({{ latest_version(source('support', 'kb_articles'), ['article_id'], updated_at='updated_at') }}) as source
