{#-
  round_half_away_from_zero(expression, digits=0): rounded to `digits` decimals, halves away from zero
  (2.5 -> 3, -2.5 -> -3), for doubles as for decimals.
-#}
{% macro round_half_away_from_zero(expression, digits=0) -%}
    {{ return(adapter.dispatch('round_half_away_from_zero', 'smb_warehouse')(expression, digits)) }}
{%- endmacro %}

{% macro default__round_half_away_from_zero(expression, digits=0) -%}
    {#- DuckDB round() rounds halves away from zero for DOUBLE and DECIMAL -#}
    round({{ expression }}, {{ digits }})
{%- endmacro %}

{% macro postgres__round_half_away_from_zero(expression, digits=0) -%}
    {#- round(double precision) rounds halves to even on most platforms; round(numeric) rounds them away
        from zero (docs 9.3, "Mathematical Functions") -#}
    round(cast({{ expression }} as numeric), {{ digits }})
{%- endmacro %}

{% macro spark__round_half_away_from_zero(expression, digits=0) -%}
    {#- round() uses HALF_UP: halves away from zero (bround() would round them to even) -#}
    round({{ expression }}, {{ digits }})
{%- endmacro %}
