{#-
  bool_to_int(expression): a boolean as the integer 1 / 0 (NULL stays NULL). Cast the result further
  when a float is needed: PostgreSQL casts boolean to integer but not to double precision.
-#}
{% macro bool_to_int(expression) -%}
    {{ return(adapter.dispatch('bool_to_int', 'smb_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__bool_to_int(expression) -%}
    cast({{ expression }} as integer)
{%- endmacro %}

{% macro postgres__bool_to_int(expression) -%}
    {#- the boolean -> int4 cast exists in PostgreSQL (no cast to int8 or float) -#}
    cast({{ expression }} as integer)
{%- endmacro %}

{% macro spark__bool_to_int(expression) -%}
    cast({{ expression }} as int)
{%- endmacro %}
