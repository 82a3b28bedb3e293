{#-
  seed_column_type(data_type): a seed's `column_types` entry (seeds/_seeds.yml: varchar, date, decimal(p,s))
  in the engine's spelling, for the table dbt creates for the seed and the casts of its inserts.
    DuckDB      as written
    PostgreSQL  as written
    Spark       through contract_data_type() (varchar -> string)
  On Spark, dbt-spark's seed macros read `column_types` as written; the two overrides below hand them the
  translated types and otherwise run dbt-spark's own code.
-#}
{% macro seed_column_type(data_type) -%}
    {{ return(adapter.dispatch('seed_column_type', 'smb_warehouse')(data_type)) }}
{%- endmacro %}

{% macro default__seed_column_type(data_type) -%}
    {{ return(data_type) }}
{%- endmacro %}

{% macro postgres__seed_column_type(data_type) -%}
    {{ return(data_type) }}
{%- endmacro %}

{% macro spark__seed_column_type(data_type) -%}
    {{ return(smb_warehouse.spark__contract_data_type(data_type)) }}
{%- endmacro %}

{#- The seed node with its column_types in Spark's spelling (a copy: the manifest keeps the yml's). -#}
{% macro _spark_seed_model(model) -%}
    {%- set types = {} -%}
    {%- for name, kind in (model['config'].get('column_types') or {}).items() -%}
        {%- do types.update({name: smb_warehouse.seed_column_type(kind)}) -%}
    {%- endfor -%}
    {%- set config = dict(model['config']) -%}
    {%- do config.update({'column_types': types}) -%}
    {%- set copy = dict(model) -%}
    {%- do copy.update({'config': config}) -%}
    {{ return(copy) }}
{%- endmacro %}

{% macro spark__create_csv_table(model, agate_table) -%}
    {{ return(dbt.spark__create_csv_table(smb_warehouse._spark_seed_model(model), agate_table)) }}
{%- endmacro %}

{% macro spark__load_csv_rows(model, agate_table) -%}
    {{ return(dbt.spark__load_csv_rows(smb_warehouse._spark_seed_model(model), agate_table)) }}
{%- endmacro %}
