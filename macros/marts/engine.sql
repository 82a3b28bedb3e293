{#- Engine-specific expressions used by the marts; each goes through adapter.dispatch. -#}

{#- Whole days from `start` to `end` (dates), end - start. -#}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'smb_warehouse')(start, end)) }}
{%- endmacro %}
{% macro default__days_between(start, end) -%}
    cast(date_diff('day', cast({{ start }} as date), cast({{ end }} as date)) as integer)
{%- endmacro %}
{% macro postgres__days_between(start, end) -%}
    cast((cast({{ end }} as date) - cast({{ start }} as date)) as integer)
{%- endmacro %}

{#- Hours (fractional) from timestamp `start` to `end`. -#}
{% macro hours_between(start, end) -%}
    {{ return(adapter.dispatch('hours_between', 'smb_warehouse')(start, end)) }}
{%- endmacro %}
{% macro default__hours_between(start, end) -%}
    cast(date_diff('second', {{ start }}, {{ end }}) / 3600.0 as double)
{%- endmacro %}
{% macro postgres__hours_between(start, end) -%}
    cast(extract(epoch from ({{ end }} - {{ start }})) / 3600.0 as double precision)
{%- endmacro %}

{#- Last day of the month of a date. -#}
{% macro month_end(expression) -%}
    {{ return(adapter.dispatch('month_end', 'smb_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__month_end(expression) -%}
    cast(last_day(cast({{ expression }} as date)) as date)
{%- endmacro %}
{% macro postgres__month_end(expression) -%}
    cast(date_trunc('month', {{ expression }}) + interval '1 month' - interval '1 day' as date)
{%- endmacro %}

{#- Date plus a whole number of days. -#}
{% macro add_days(expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'smb_warehouse')(expression, days)) }}
{%- endmacro %}
{% macro default__add_days(expression, days) -%}
    cast(cast({{ expression }} as date) + cast({{ days }} as integer) as date)
{%- endmacro %}

{#- One row per day from start_date to end_date (inclusive) as column `date_day`. -#}
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

{#- First capture group of `pattern` in `expression` (NULL / '' when no match, engine dependent). -#}
{% macro regexp_extract_group(expression, pattern) -%}
    {{ return(adapter.dispatch('regexp_extract_group', 'smb_warehouse')(expression, pattern)) }}
{%- endmacro %}
{% macro default__regexp_extract_group(expression, pattern) -%}
    nullif(regexp_extract({{ expression }}, '{{ pattern }}', 1), '')
{%- endmacro %}
{% macro postgres__regexp_extract_group(expression, pattern) -%}
    substring({{ expression }} from '{{ pattern }}')
{%- endmacro %}

{#- JSON object from alternating key / value-expression pairs: json_object_from({'k': 'col', ...}). -#}
{% macro json_object_from(pairs) -%}
    {{ return(adapter.dispatch('json_object_from', 'smb_warehouse')(pairs)) }}
{%- endmacro %}
{% macro default__json_object_from(pairs) -%}
    cast(json_object(
        {%- for key, value in pairs.items() %}
        '{{ key }}', {{ value }}{{ "," if not loop.last }}
        {%- endfor %}
    ) as varchar)
{%- endmacro %}
{% macro postgres__json_object_from(pairs) -%}
    cast(json_build_object(
        {%- for key, value in pairs.items() %}
        '{{ key }}', {{ value }}{{ "," if not loop.last }}
        {%- endfor %}
    ) as text)
{%- endmacro %}

{#- Company name without / with its legal-form suffix ('Keller Bau GmbH & Co. KG' -> 'Keller Bau', 'GmbH & Co. KG'). -#}
{% macro legal_form_pattern() -%}
[,]?\s+(GmbH & Co\.? KG|GmbH|gGmbH|AG|KG|OHG|UG|e\.K\.|SE|Ltd\.?|Limited|PLC|plc|LLP|Inc\.?|LLC|Corp\.?|B\.V\.|BV|N\.V\.|NV|S\.A\.S\.|SAS|SARL|S\.A\.|SA|S\.L\.|SL|S\.r\.l\.|Srl|S\.p\.A\.|SpA|AB|A/S|ApS|Oy|sp\. z o\.o\.|s\.r\.o\.)$
{%- endmacro %}
{% macro legal_form(name) -%}
    {{ smb_warehouse.regexp_extract_group(name, legal_form_pattern()) }}
{%- endmacro %}
{% macro legal_name(name) -%}
    trim({{ smb_warehouse.regexp_replace_all(name, legal_form_pattern(), '') }})
{%- endmacro %}

{#- Support product mention as entity resolution keys it: trimmed, inner whitespace collapsed, lower case. -#}
{% macro normalize_mention(expression) -%}
    lower({{ smb_warehouse.clean_text(expression) }})
{%- endmacro %}
