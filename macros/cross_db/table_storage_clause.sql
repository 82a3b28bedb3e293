{#-
  table_storage_clause(): what follows the column list of a `create table (...)` the project writes itself
  (the Python-written tables' DDL), choosing how the engine stores it.
    DuckDB      '' (its own storage)
    PostgreSQL  '' (heap)
    Spark       using parquet (without it a Hive-enabled session, as dbt-spark's `session` method opens,
                creates a Hive text-format table); the same format spark_inputs lands the inputs in
-#}
{% macro table_storage_clause() -%}
    {{ return(adapter.dispatch('table_storage_clause', 'smb_warehouse')()) }}
{%- endmacro %}

{% macro default__table_storage_clause() -%}
    {{ return('') }}
{%- endmacro %}

{% macro postgres__table_storage_clause() -%}
    {{ return('') }}
{%- endmacro %}

{% macro spark__table_storage_clause() -%}
    {{ return('using parquet') }}
{%- endmacro %}
