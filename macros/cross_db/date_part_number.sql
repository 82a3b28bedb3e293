{#-
  date_part_number(part, expression): a calendar field of a date or timestamp as INTEGER.
    part: 'year' | 'quarter' | 'month' | 'day' (of month) | 'isodow' (Monday 1 .. Sunday 7)
          | 'isoweek' (ISO 8601 week of the week-based year, 1..53)
  Any other part is a compile error (field names differ per engine, so they are mapped here).
-#}
{% macro date_part_number(part, expression) -%}
    {{ return(adapter.dispatch('date_part_number', 'smb_warehouse')(part, expression)) }}
{%- endmacro %}

{% macro date_part_field(part, fields) -%}
    {%- if part not in fields -%}
        {{ exceptions.raise_compiler_error("date_part_number: unknown part '" ~ part ~ "' (one of " ~ fields.keys() | list | join(', ') ~ ")") }}
    {%- endif -%}
    {{ return(fields[part]) }}
{%- endmacro %}

{% macro default__date_part_number(part, expression) -%}
    {%- set function = smb_warehouse.date_part_field(part, {
        'year': 'year', 'quarter': 'quarter', 'month': 'month', 'day': 'day', 'isodow': 'isodow',
        'isoweek': 'weekofyear'}) -%}
    cast({{ function }}({{ expression }}) as integer)
{%- endmacro %}

{% macro postgres__date_part_number(part, expression) -%}
    {#- extract() returns numeric; `week` is the ISO 8601 week (docs: "EXTRACT, date_part") -#}
    {%- set field = smb_warehouse.date_part_field(part, {
        'year': 'year', 'quarter': 'quarter', 'month': 'month', 'day': 'day', 'isodow': 'isodow',
        'isoweek': 'week'}) -%}
    cast(extract({{ field }} from {{ expression }}) as integer)
{%- endmacro %}

{% macro spark__date_part_number(part, expression) -%}
    {#- Spark's DAYOFWEEK is Sunday 1 .. Saturday 7; DAYOFWEEK_ISO is Monday 1 .. Sunday 7; WEEK is ISO 8601 -#}
    {%- set field = smb_warehouse.date_part_field(part, {
        'year': 'YEAR', 'quarter': 'QUARTER', 'month': 'MONTH', 'day': 'DAY', 'isodow': 'DAYOFWEEK_ISO',
        'isoweek': 'WEEK'}) -%}
    cast(extract({{ field }} from {{ expression }}) as int)
{%- endmacro %}
