{#-
  regexp_extract_group(expression, pattern): the text of the first capture group of the leftmost match
  of `pattern`, NULL when nothing matches or the group matched ''. Pattern dialect: see
  regexp_replace_all.sql.
-#}
{% macro regexp_extract_group(expression, pattern) -%}
    {{ return(adapter.dispatch('regexp_extract_group', 'smb_warehouse')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_extract_group(expression, pattern) -%}
    nullif(regexp_extract({{ expression }}, '{{ pattern }}', 1), '')
{%- endmacro %}

{% macro postgres__regexp_extract_group(expression, pattern) -%}
    {#- substring(text from pattern) returns the first parenthesised subexpression's match, NULL when
        there is no match (docs 9.7.3) -#}
    nullif(substring({{ expression }} from '{{ pattern }}'), '')
{%- endmacro %}

{% macro spark__regexp_extract_group(expression, pattern) -%}
    {#- regexp_extract returns '' when there is no match -#}
    nullif(regexp_extract({{ expression }}, '{{ smb_warehouse.spark_regex_literal(pattern) }}', 1), '')
{%- endmacro %}
