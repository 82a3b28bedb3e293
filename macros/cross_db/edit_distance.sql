{#- edit_distance(a, b): Levenshtein distance (insertions, deletions, substitutions of one character) as an integer. -#}
{% macro edit_distance(a, b) -%}
    {{ return(adapter.dispatch('edit_distance', 'smb_warehouse')(a, b)) }}
{%- endmacro %}

{% macro default__edit_distance(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro postgres__edit_distance(a, b) -%}
    {#- levenshtein() comes with the fuzzystrmatch extension (`create extension fuzzystrmatch`), which
        engine_setup() creates in the on-run-start hook; without it the model fails loudly. It rejects
        arguments longer than 255 characters (docs F.17.2). -#}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro spark__edit_distance(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}
