{#-
  regexp_matches(expression, pattern): TRUE when `pattern` matches anywhere in `expression` (NULL for
  NULL). Pattern dialect: see regexp_replace_all.sql.
-#}
{% macro regexp_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('regexp_matches', 'smb_warehouse')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_matches(expression, pattern) -%}
    ({{ expression }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regexp_matches(expression, pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regexp_matches(expression, pattern) -%}
    {{ return(smb_warehouse.default__regexp_matches(expression, pattern)) }}
{%- endmacro %}

{% macro spark__regexp_matches(expression, pattern) -%}
    {#- rlike is a find (partial match), like the others -#}
    ({{ expression }} rlike '{{ smb_warehouse.spark_regex_literal(pattern) }}')
{%- endmacro %}
