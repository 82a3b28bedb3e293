{#-
  scd2_from_versions(versions, key, state_columns, changed_at='updated_at')

  Slowly changing dimension, type 2, from every loaded version of a master-data row. Raw tables keep each
  version the exports brought (every batch re-exports a row, late files arrive), and a staging
  `*_versions` model cleans each of them; this collapses them into one row per key per distinct state:

  - versions are ordered per key by `changed_at` (the source system's last-change time), then
    _loaded_at, _source_file, _source_line (the order latest_version uses, ascending);
  - a version starts a new state when any of `state_columns` differs from the previous version's
    (NULL-safe: NULL to a value and back are changes); re-exports of an unchanged row are dropped;
  - valid_from = its `changed_at`, valid_to = the next state's valid_from (NULL for the current state);
    two states with one `changed_at` give the first a zero-length interval (valid_to = valid_from);
  - version_number counts the states of the key from 1; is_current marks the last.

  Each row keeps the lineage (_load_id, _source_file, _source_line, _loaded_at) of the version that first
  brought its state. Rebuilt from raw at every run, so history survives a full refresh and includes
  changes that arrived within one run (a dbt snapshot would only see the state at each run).
  Portable SQL: window functions only, no QUALIFY, no IS DISTINCT FROM.
-#}
{% macro scd2_from_versions(versions, key, state_columns, changed_at='updated_at') %}
    {%- set order_by = changed_at ~ ', _loaded_at, _source_file, _source_line' %}
    select
        states.*,
        states.{{ changed_at }} as valid_from,
        lead(states.{{ changed_at }}) over (partition by states.{{ key }} order by states._version_seq) as valid_to,
        row_number() over (partition by states.{{ key }} order by states._version_seq) as version_number
    from (
        select *
        from (
            select
                versions.*,
                {%- for column in state_columns %}
                lag({{ column }}) over (partition by versions.{{ key }} order by {{ order_by }}) as _previous_{{ column }},
                {%- endfor %}
                row_number() over (partition by versions.{{ key }} order by {{ order_by }}) as _version_seq
            from {{ versions }} as versions
        ) as compared
        where _version_seq = 1
            {%- for column in state_columns %}
            or not coalesce({{ column }} = _previous_{{ column }}, {{ column }} is null and _previous_{{ column }} is null)
            {%- endfor %}
    ) as states
{% endmacro %}
