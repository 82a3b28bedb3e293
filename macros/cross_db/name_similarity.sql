{#-
  name_similarity(a, b): similarity of two short strings (names) in 0..1, 1 for equal strings.
  DuckDB: Jaro-Winkler similarity (built in). PostgreSQL and Spark have no Jaro-Winkler: there it is the
  normalised Levenshtein similarity 1 - distance / max(length), same range and direction but other
  values, so a model trained on one engine's values must be retrained on another's. NULL when either
  is NULL.
-#}
{% macro name_similarity(a, b) -%}
    {{ return(adapter.dispatch('name_similarity', 'smb_warehouse')(a, b)) }}
{%- endmacro %}

{% macro default__name_similarity(a, b) -%}
    jaro_winkler_similarity({{ a }}, {{ b }})
{%- endmacro %}

{% macro levenshtein_similarity(a, b) -%}
    (1.0 - {{ smb_warehouse.edit_distance(a, b) }} * 1.0 / nullif(greatest(length({{ a }}), length({{ b }})), 0))
{%- endmacro %}

{% macro postgres__name_similarity(a, b) -%}
    {{ return(smb_warehouse.levenshtein_similarity(a, b)) }}
{%- endmacro %}

{% macro spark__name_similarity(a, b) -%}
    {{ return(smb_warehouse.levenshtein_similarity(a, b)) }}
{%- endmacro %}
