{#-
  String comparisons for AP invoice matching differ per engine:
    recon_edit_distance(a, b)   : Levenshtein distance (DuckDB built-in; PostgreSQL needs fuzzystrmatch).
    recon_name_similarity(a, b) : 0..1 similarity of two names. DuckDB has Jaro-Winkler built in; elsewhere
                                  a normalised Levenshtein similarity stands in (same range and direction).
-#}
{% macro recon_edit_distance(a, b) -%}
    {{ return(adapter.dispatch('recon_edit_distance', 'smb_warehouse')(a, b)) }}
{%- endmacro %}

{% macro default__recon_edit_distance(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}


{% macro recon_name_similarity(a, b) -%}
    {{ return(adapter.dispatch('recon_name_similarity', 'smb_warehouse')(a, b)) }}
{%- endmacro %}

{% macro default__recon_name_similarity(a, b) -%}
    (1.0 - levenshtein({{ a }}, {{ b }}) * 1.0 / nullif(greatest(length({{ a }}), length({{ b }})), 0))
{%- endmacro %}

{% macro duckdb__recon_name_similarity(a, b) -%}
    jaro_winkler_similarity({{ a }}, {{ b }})
{%- endmacro %}
