{#-
  python_table_type(data_type): a type of the Python-written tables' declaration (models/sources/*.yml,
  smb_warehouse/core/python_tables.py: DuckDB's names varchar, double, integer, bigint, boolean, date,
  timestamp) in the engine's spelling, for the DDL of create_python_written_tables(). Through the adapter's
  Column.translate_type, plus what that leaves wrong:
    DuckDB      as declared
    PostgreSQL  double -> double precision (`double` alone is not a PostgreSQL type)
    Spark       varchar -> string (Spark SQL 3.5 takes varchar only with a length)
-#}
{% macro python_table_type(data_type) -%}
    {{ return(adapter.dispatch('python_table_type', 'smb_warehouse')(data_type)) }}
{%- endmacro %}

{% macro default__python_table_type(data_type) -%}
    {{ return(api.Column.translate_type(data_type)) }}
{%- endmacro %}

{% macro postgres__python_table_type(data_type) -%}
    {%- if data_type | lower == 'double' -%}
        {{ return('double precision') }}
    {%- endif -%}
    {{ return(api.Column.translate_type(data_type)) }}
{%- endmacro %}

{% macro spark__python_table_type(data_type) -%}
    {%- if data_type | lower == 'varchar' -%}
        {{ return('string') }}
    {%- endif -%}
    {{ return(api.Column.translate_type(data_type)) }}
{%- endmacro %}
