{#-
  primary_key_clause(quoted_columns): the table constraint of a `create table` naming its primary key
  (a list of quoted column names), or '' where the engine's tables have none (the caller then adds nothing).
    DuckDB      primary key (a, b)
    PostgreSQL  primary key (a, b)
    Spark       '' (Spark SQL 3.5 has no primary keys on its Parquet tables, only Databricks' informational
                ones on Unity Catalog); the keys stay checked by the Python writers and the dbt tests
-#}
{% macro primary_key_clause(quoted_columns) -%}
    {{ return(adapter.dispatch('primary_key_clause', 'smb_warehouse')(quoted_columns)) }}
{%- endmacro %}

{% macro default__primary_key_clause(quoted_columns) -%}
    {{ return('primary key (' ~ quoted_columns | join(', ') ~ ')' if quoted_columns else '') }}
{%- endmacro %}

{% macro postgres__primary_key_clause(quoted_columns) -%}
    {{ return(smb_warehouse.default__primary_key_clause(quoted_columns)) }}
{%- endmacro %}

{% macro spark__primary_key_clause(quoted_columns) -%}
    {{ return('') }}
{%- endmacro %}
