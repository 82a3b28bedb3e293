{#-
  hours_between(start, end): hours from timestamp `start` to `end` as a double, counted in whole
  seconds (fractions of a second are dropped on both sides first, as DuckDB's date_diff('second') does).
-#}
{% macro hours_between(start, end) -%}
    {{ return(adapter.dispatch('hours_between', 'smb_warehouse')(start, end)) }}
{%- endmacro %}

{% macro default__hours_between(start, end) -%}
    cast(date_diff('second', {{ start }}, {{ end }}) / 3600.0 as double)
{%- endmacro %}

{% macro postgres__hours_between(start, end) -%}
    cast(
        extract(epoch from (date_trunc('second', {{ end }}) - date_trunc('second', {{ start }}))) / 3600.0
        as double precision
    )
{%- endmacro %}

{% macro spark__hours_between(start, end) -%}
    {#- unix_timestamp(ts) is floor(seconds since the epoch). Divided as a double: bigint / 3600.0 would be a
        decimal division, which Spark rounds to 6 decimal places (DuckDB divides decimals as doubles) -#}
    cast(unix_timestamp({{ end }}) - unix_timestamp({{ start }}) as double) / 3600.0
{%- endmacro %}
