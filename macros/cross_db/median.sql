{#-
  median(expression): aggregate median of a numeric expression as a double, interpolating between the
  two middle values when their count is even; NULLs ignored, NULL for no rows. An aggregate only, not a
  window function (PostgreSQL's ordered-set aggregates cannot take OVER): for a median per partition,
  aggregate per group and join back.
-#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'smb_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    {#- DuckDB median() = quantile_cont(x, 0.5) for numeric input, a DOUBLE -#}
    median({{ expression }})
{%- endmacro %}

{% macro postgres__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro spark__median(expression) -%}
    {#- percentile(): exact, linear interpolation (docs: "percentile"); percentile_approx would not be exact -#}
    percentile({{ expression }}, 0.5)
{%- endmacro %}
