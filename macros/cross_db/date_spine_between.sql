{#-
  date_spine_between(relation, start_column, end_column): a SELECT of one row per day from `start_column`
  to `end_column` (inclusive; dates or timestamps, cast to DATE) of every row of `relation` (a table or
  CTE name; one row for a plain calendar), as column `date_day` (DATE). Rows with a NULL bound give no
  days. The data-driven sibling of date_spine_days (whose bounds are literals).
-#}
{% macro date_spine_between(relation, start_column, end_column) -%}
    {{ return(adapter.dispatch('date_spine_between', 'smb_warehouse')(relation, start_column, end_column)) }}
{%- endmacro %}

{% macro default__date_spine_between(relation, start_column, end_column) -%}
    select cast(unnest(generate_series(cast({{ start_column }} as date), cast({{ end_column }} as date), interval 1 day)) as date)
        as date_day
    from {{ relation }}
{%- endmacro %}

{% macro postgres__date_spine_between(relation, start_column, end_column) -%}
    select cast(spine_day as date) as date_day
    from {{ relation }}
    cross join lateral generate_series(
        cast({{ start_column }} as timestamp), cast({{ end_column }} as timestamp), interval '1 day'
    ) as spine_day
{%- endmacro %}

{% macro spark__date_spine_between(relation, start_column, end_column) -%}
    select explode(sequence(cast({{ start_column }} as date), cast({{ end_column }} as date), interval 1 day)) as date_day
    from {{ relation }}
{%- endmacro %}
