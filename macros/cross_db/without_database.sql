{#-
  without_database(relation): the relation as ref()/source() render it (macros/relation_references.sql).

  DuckDB stores a view's SQL verbatim, so a view reading `"candidate_123"."raw"."erp__customers"` breaks
  as soon as the candidate file is published (copied/renamed) as warehouse.duckdb: the catalog name is
  the file name. Views referencing `"raw"."erp__customers"` resolve against whichever catalog they live
  in, so the published file keeps working. PostgreSQL and Spark keep dbt's default rendering (there the
  database is the server's, not a file name).
-#}
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

{% macro postgres__without_database(relation) -%}
    {{- return(relation) -}}
{%- endmacro %}

{% macro spark__without_database(relation) -%}
    {{- return(relation) -}}
{%- endmacro %}
