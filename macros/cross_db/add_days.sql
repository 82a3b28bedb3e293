{#- add_days(expression, days): the date of `expression` plus a whole number of days (negative: minus), as a DATE. -#}
{% macro add_days(expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'smb_warehouse')(expression, days)) }}
{%- endmacro %}

{% macro default__add_days(expression, days) -%}
    cast(cast({{ expression }} as date) + cast({{ days }} as integer) as date)
{%- endmacro %}

{% macro postgres__add_days(expression, days) -%}
    {#- date + integer is a date in PostgreSQL, as in DuckDB -#}
    {{ return(smb_warehouse.default__add_days(expression, days)) }}
{%- endmacro %}

{% macro spark__add_days(expression, days) -%}
    date_add(cast({{ expression }} as date), cast({{ days }} as int))
{%- endmacro %}
