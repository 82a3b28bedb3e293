{#-
  string_agg_distinct(expression, delimiter): aggregate joining the distinct non-NULL values of a string
  expression in ascending order with `delimiter` (a literal string, without quotes); NULL when the group
  has no non-NULL value.
-#}
{% macro string_agg_distinct(expression, delimiter) -%}
    {{ return(adapter.dispatch('string_agg_distinct', 'smb_warehouse')(expression, delimiter)) }}
{%- endmacro %}

{% macro default__string_agg_distinct(expression, delimiter) -%}
    string_agg(distinct {{ expression }}, '{{ delimiter }}' order by {{ expression }})
{%- endmacro %}

{% macro postgres__string_agg_distinct(expression, delimiter) -%}
    {#- with DISTINCT, ORDER BY must name the aggregated expression itself -#}
    {{ return(smb_warehouse.default__string_agg_distinct(expression, delimiter)) }}
{%- endmacro %}

{% macro spark__string_agg_distinct(expression, delimiter) -%}
    {#- Spark 3.5 has no string_agg/listagg (Spark 4.0); collect_set skips NULLs, array_join of an empty
        array is '' where the others give NULL, hence the case -#}
    case when count({{ expression }}) > 0
        then array_join(array_sort(collect_set({{ expression }})), '{{ delimiter }}') end
{%- endmacro %}
