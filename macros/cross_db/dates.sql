{#- First day of the month of a date or timestamp, as a DATE. -#}
{% macro month_start(expression) -%}
    {{ return(adapter.dispatch('month_start', 'smb_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__month_start(expression) -%}
    cast(date_trunc('month', {{ expression }}) as date)
{%- endmacro %}

{% macro spark__month_start(expression) -%}
    trunc({{ expression }}, 'MM')
{%- endmacro %}
