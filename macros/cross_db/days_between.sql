{#-
  days_between(start, end): whole days from date `start` to date `end` (end - start) as INTEGER;
  timestamps are cast to their date first. NULL when either is NULL.
-#}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'smb_warehouse')(start, end)) }}
{%- endmacro %}

{% macro default__days_between(start, end) -%}
    cast(date_diff('day', cast({{ start }} as date), cast({{ end }} as date)) as integer)
{%- endmacro %}

{% macro postgres__days_between(start, end) -%}
    {#- date - date is an integer number of days in PostgreSQL (docs: "Date/Time Operators") -#}
    cast((cast({{ end }} as date) - cast({{ start }} as date)) as integer)
{%- endmacro %}

{% macro spark__days_between(start, end) -%}
    {#- datediff(endDate, startDate); Spark's `date - date` is an INTERVAL DAY, not a number -#}
    cast(datediff(cast({{ end }} as date), cast({{ start }} as date)) as int)
{%- endmacro %}
