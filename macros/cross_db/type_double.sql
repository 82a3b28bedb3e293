{#-
  type_double(): the 8-byte floating-point type, for casts (`cast(x as {{ type_double() }})`).
  dbt.type_float() is no substitute: on DuckDB it renders `float`, which DuckDB reads as 4-byte REAL.
    DuckDB      double            (https://duckdb.org/docs/sql/data_types/numeric)
    PostgreSQL  double precision  (`double` alone is not a PostgreSQL type)
    Spark       double
-#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'smb_warehouse')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
