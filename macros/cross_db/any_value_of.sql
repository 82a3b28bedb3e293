{#-
  any_value_of(expression): aggregate returning one non-NULL value of the group. Use it only for values
  that are the same on every row of the group (attributes functionally dependent on the group key);
  which row it reads is not defined. (Named apart from dbt's own any_value, which on DuckDB renders
  arbitrary(): that one may return NULL although the group has non-NULL values.)
-#}
{% macro any_value_of(expression) -%}
    {{ return(adapter.dispatch('any_value_of', 'smb_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__any_value_of(expression) -%}
    any_value({{ expression }})
{%- endmacro %}

{% macro postgres__any_value_of(expression) -%}
    {#- any_value() arrived in PostgreSQL 16; min() is a deterministic stand-in on 15 -#}
    min({{ expression }})
{%- endmacro %}

{% macro spark__any_value_of(expression) -%}
    {#- any_value(expr, true) skips NULLs (Spark 3.4+; the default `false` may return NULL) -#}
    any_value({{ expression }}, true)
{%- endmacro %}
