{#-
  ref() and source() without the database (catalog) part on DuckDB, so views keep working once the
  candidate file is published under another name; other engines keep dbt's default rendering
  (the dispatch and the reason: macros/cross_db/without_database.sql).
-#}
{% macro ref() -%}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {{- return(smb_warehouse.without_database(relation)) -}}
{%- endmacro %}

{% macro source() -%}
    {%- set relation = builtins.source(*varargs, **kwargs) -%}
    {{- return(smb_warehouse.without_database(relation)) -}}
{%- endmacro %}
