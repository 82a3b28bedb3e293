{#- month_start(expression): first day of the month of a date or timestamp, as a DATE. -#}
{% macro month_start(expression) -%}
    {{ return(adapter.dispatch('month_start', 'smb_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__month_start(expression) -%}
    cast(date_trunc('month', {{ expression }}) as date)
{%- endmacro %}

{% macro postgres__month_start(expression) -%}
    {#- through `timestamp` (without time zone): date_trunc on a bare date would resolve to the
        timestamptz variant, which depends on the session's TimeZone -#}
    cast(date_trunc('month', cast({{ expression }} as timestamp)) as date)
{%- endmacro %}

{% macro spark__month_start(expression) -%}
    trunc(cast({{ expression }} as date), 'MM')
{%- endmacro %}
