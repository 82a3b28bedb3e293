{#-
  latest_version(relation, key_columns, updated_at=none)

  Raw tables keep every loaded version of a row (each batch file re-exports it, late files arrive).
  Returns a SELECT of all columns of `relation`, one row per key: the newest version, ordered by
    <updated_at> desc (when the entity has one), _loaded_at desc, _source_file desc, _source_line desc.

  Portable SQL (a row_number() subquery, no QUALIFY): the SELECT also returns the `_version_rank` column
  (always 1), which the staging models simply don't select.
-#}

{% macro latest_version_window(key_columns, updated_at=none) -%}
    {%- set keys = [key_columns] if key_columns is string else key_columns -%}
    row_number() over (
        partition by {{ keys | join(', ') }}
        order by
            {% if updated_at %}{{ updated_at }} desc nulls last,
            {% endif %}_loaded_at desc nulls last,
            _source_file desc nulls last,
            _source_line desc nulls last
    )
{%- endmacro %}

{% macro latest_version(relation, key_columns, updated_at=none) %}
    select *
    from (
        select
            versions.*,
            {{ smb_warehouse.latest_version_window(key_columns, updated_at) }} as _version_rank
        from {{ relation }} as versions
    ) as ranked_versions
    where _version_rank = 1
{% endmacro %}
