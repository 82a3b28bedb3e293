{#-
  json_object_from(pairs): a JSON object as text from a dict of key -> SQL value expression,
  e.g. json_object_from({'country_code': 'country_code', 'n': 'count(*)'}). Keys in dict order; values
  keep their JSON type (numbers, booleans, strings, null). Compact text (no whitespace), so DuckDB and
  PostgreSQL give the same text for strings, numbers, booleans, null and dates. Timestamps do not: DuckDB
  writes '2024-01-08 10:27:51', PostgreSQL and Spark ISO 8601 with a 'T'; pass a timestamp as
  cast(x as <string type>) for one text on every engine. Keys are plain names (no quotes, no backslash).
-#}
{% macro json_object_from(pairs) -%}
    {{ return(adapter.dispatch('json_object_from', 'smb_warehouse')(pairs)) }}
{%- endmacro %}

{% macro json_pairs(pairs) -%}
    {%- for key, value in pairs.items() %}
        '{{ key }}', {{ value }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro default__json_object_from(pairs) -%}
    cast(json_object({{ smb_warehouse.json_pairs(pairs) }}
    ) as varchar)
{%- endmacro %}

{% macro postgres__json_object_from(pairs) -%}
    {#- json_build_object() writes `{"k" : v, "k2" : v2}` (spaces around ':' and after ','), DuckDB `{"k":v,"k2":v2}`.
        The object is assembled here, compact: each value is JSON-encoded by json_build_array() (which, unlike
        to_json(), takes untyped literals too) and its enclosing '[' ']' removed; keys are known when compiling. -#}
    {%- for key in pairs -%}
        {%- if '"' in key or '\\' in key or "'" in key -%}
            {{ exceptions.raise_compiler_error("json_object_from: key " ~ key ~ " must not contain quotes or backslashes") }}
        {%- endif -%}
    {%- endfor -%}
    ('{'
    {%- for key, value in pairs.items() %}
        || '{{ "," if not loop.first }}"{{ key }}":'
        || regexp_replace(cast(json_build_array({{ value }}) as text), '^\[|\]$', '', 'g')
    {%- endfor %}
        || '}')
{%- endmacro %}

{% macro spark__json_object_from(pairs) -%}
    {#- to_json drops NULL fields unless ignoreNullFields is false (docs: "JSON Files", data source options) -#}
    to_json(named_struct({{ smb_warehouse.json_pairs(pairs) }}
    ), map('ignoreNullFields', 'false'))
{%- endmacro %}
