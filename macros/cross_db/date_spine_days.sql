{#-
  date_spine_days(start_date, end_date): a SELECT of one row per day from start_date to end_date
  (inclusive, 'YYYY-MM-DD' literals) as column `date_day` (DATE).
-#}
{% macro date_spine_days(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine_days', 'smb_warehouse')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_spine_days(start_date, end_date) -%}
    select cast(generate_series as date) as date_day
    from generate_series(cast('{{ start_date }}' as date), cast('{{ end_date }}' as date), interval 1 day)
{%- endmacro %}

{% macro postgres__date_spine_days(start_date, end_date) -%}
    select cast(d as date) as date_day
    from generate_series(cast('{{ start_date }}' as date), cast('{{ end_date }}' as date), interval '1 day') as d
{%- endmacro %}

{% macro spark__date_spine_days(start_date, end_date) -%}
    select explode(sequence(cast('{{ start_date }}' as date), cast('{{ end_date }}' as date), interval 1 day)) as date_day
{%- endmacro %}
