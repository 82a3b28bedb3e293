{#-
  asof_join_latest(left, right, keys, left_time, right_time, columns): a SELECT of every row of `left`
  (all its columns, `left.*`) plus the `columns` of the row of `right` with equal `keys` and the latest
  `right_time` <= `left_time`; NULLs where `right` has no such row. `left` / `right`: table or CTE names;
  `keys`, `columns`: lists of column names (`columns` must not repeat a column of `left`); `right` must be
  unique on keys + right_time. Typical use: the stock snapshot in force on each day.

  DuckDB: ASOF LEFT JOIN (a sort-merge, not the nested loop an OR / range condition gets).
  PostgreSQL: LEFT JOIN LATERAL (... ORDER BY right_time DESC LIMIT 1).
  Spark: each right row's validity interval [right_time, next right_time) from lead(), then a range join.
-#}
{% macro asof_join_latest(left, right, keys, left_time, right_time, columns) -%}
    {{ return(adapter.dispatch('asof_join_latest', 'smb_warehouse')(left, right, keys, left_time, right_time, columns)) }}
{%- endmacro %}

{% macro default__asof_join_latest(left, right, keys, left_time, right_time, columns) -%}
    select asof_left.*{% for c in columns %}, asof_right.{{ c }}{% endfor %}
    from {{ left }} as asof_left
    asof left join {{ right }} as asof_right
        on {% for k in keys %}asof_right.{{ k }} = asof_left.{{ k }} and {% endfor -%}
        asof_left.{{ left_time }} >= asof_right.{{ right_time }}
{%- endmacro %}

{% macro postgres__asof_join_latest(left, right, keys, left_time, right_time, columns) -%}
    select asof_left.*{% for c in columns %}, asof_right.{{ c }}{% endfor %}
    from {{ left }} as asof_left
    left join lateral (
        select {% for c in columns %}{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
        from {{ right }} as candidate
        where {% for k in keys %}candidate.{{ k }} = asof_left.{{ k }} and {% endfor -%}
            candidate.{{ right_time }} <= asof_left.{{ left_time }}
        order by candidate.{{ right_time }} desc
        limit 1
    ) as asof_right on true
{%- endmacro %}

{% macro spark__asof_join_latest(left, right, keys, left_time, right_time, columns) -%}
    select asof_left.*{% for c in columns %}, asof_right.{{ c }}{% endfor %}
    from {{ left }} as asof_left
    left join (
        select {% for k in keys %}{{ k }}, {% endfor %}{% for c in columns %}{{ c }}, {% endfor -%}
            {{ right_time }} as asof_valid_from,
            lead({{ right_time }}) over (partition by {{ keys | join(', ') }} order by {{ right_time }}) as asof_valid_until
        from {{ right }}
    ) as asof_right
        on {% for k in keys %}asof_right.{{ k }} = asof_left.{{ k }} and {% endfor -%}
        asof_left.{{ left_time }} >= asof_right.asof_valid_from
        and (asof_right.asof_valid_until is null or asof_left.{{ left_time }} < asof_right.asof_valid_until)
{%- endmacro %}
