{#-
  last_value_ignore_nulls(expression, partition_by, order_by): the window expression "last non-NULL
  value of `expression` so far" (frame: rows between unbounded preceding and current row), i.e. carry
  the last known value forward. partition_by / order_by are SQL lists (without the keywords); the
  ordering must be total (ties make "last" undefined on every engine).
-#}
{% macro last_value_ignore_nulls(expression, partition_by, order_by) -%}
    {{ return(adapter.dispatch('last_value_ignore_nulls', 'smb_warehouse')(expression, partition_by, order_by)) }}
{%- endmacro %}

{% macro running_window_frame(partition_by, order_by) -%}
    partition by {{ partition_by }} order by {{ order_by }} rows between unbounded preceding and current row
{%- endmacro %}

{% macro default__last_value_ignore_nulls(expression, partition_by, order_by) -%}
    last_value({{ expression }} ignore nulls) over ({{ smb_warehouse.running_window_frame(partition_by, order_by) }})
{%- endmacro %}

{% macro postgres__last_value_ignore_nulls(expression, partition_by, order_by) -%}
    {#- PostgreSQL does not implement IGNORE NULLS (docs: "Window Functions": "The SQL standard defines a
        RESPECT NULLS or IGNORE NULLS option ... This is not implemented in PostgreSQL"). The non-NULL
        values so far, aggregated in order, indexed by how many there are: the last one (NULL when none). -#}
    (array_agg({{ expression }}) filter (where {{ expression }} is not null)
        over ({{ smb_warehouse.running_window_frame(partition_by, order_by) }}))[
        count({{ expression }}) over ({{ smb_warehouse.running_window_frame(partition_by, order_by) }})]
{%- endmacro %}

{% macro spark__last_value_ignore_nulls(expression, partition_by, order_by) -%}
    {#- last_value(expr, isIgnoreNull) -#}
    last_value({{ expression }}, true) over ({{ smb_warehouse.running_window_frame(partition_by, order_by) }})
{%- endmacro %}
