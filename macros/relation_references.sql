{#-
  ref() and source() without the database (catalog) part on DuckDB.

  DuckDB stores a view's SQL verbatim, so a view reading `"candidate_123"."raw"."erp__customers"` breaks
  as soon as the candidate file is published (copied/renamed) as warehouse.duckdb: the catalog name is
  the file name. Views referencing `"raw"."erp__customers"` resolve against whichever catalog they live
  in, so the published file keeps working. Other adapters keep dbt's default rendering.
-#}
{% macro ref() -%}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {{- return(smb_warehouse.without_database(relation)) -}}
{%- endmacro %}

{% macro source() -%}
    {%- set relation = builtins.source(*varargs, **kwargs) -%}
    {{- return(smb_warehouse.without_database(relation)) -}}
{%- endmacro %}

{% macro without_database(relation) -%}
    {{- return(adapter.dispatch('without_database', 'smb_warehouse')(relation)) -}}
{%- endmacro %}

{% macro default__without_database(relation) -%}
    {{- return(relation) -}}
{%- endmacro %}

{% macro duckdb__without_database(relation) -%}
    {#- Unit-test fixtures resolve ref()/source() to plain CTE names (strings): leave those alone. -#}
    {%- if relation is string or relation.include is not defined -%}
        {{- return(relation) -}}
    {%- endif -%}
    {{- return(relation.include(database=false)) -}}
{%- endmacro %}
