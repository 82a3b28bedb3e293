{#-
  json_object_from(pairs): a JSON object as text from a dict of key -> SQL value expression,
  e.g. json_object_from({'country_code': 'country_code', 'n': 'count(*)'}). Keys in dict order; values
  keep their JSON type (numbers, booleans, strings, null). Whitespace and the text form of dates and
  timestamps follow the engine: parse the JSON, do not compare it as text across engines.
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
    cast(json_build_object({{ smb_warehouse.json_pairs(pairs) }}
    ) as text)
{%- endmacro %}

{% macro spark__json_object_from(pairs) -%}
    {#- to_json drops NULL fields unless ignoreNullFields is false (docs: "JSON Files", data source options) -#}
    to_json(named_struct({{ smb_warehouse.json_pairs(pairs) }}
    ), map('ignoreNullFields', 'false'))
{%- endmacro %}
