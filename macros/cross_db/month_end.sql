{#- month_end(expression): last day of the month of a date or timestamp, as a DATE. -#}
{% macro month_end(expression) -%}
    {{ return(adapter.dispatch('month_end', 'smb_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__month_end(expression) -%}
    cast(last_day(cast({{ expression }} as date)) as date)
{%- endmacro %}

{% macro postgres__month_end(expression) -%}
    {#- PostgreSQL has no last_day() -#}
    cast(date_trunc('month', cast({{ expression }} as timestamp)) + interval '1 month' - interval '1 day' as date)
{%- endmacro %}

{% macro spark__month_end(expression) -%}
    last_day(cast({{ expression }} as date))
{%- endmacro %}
