{#-
  Generic test: the model has exactly as many rows as `compare_model` (optionally filtered), i.e. every
  staging row became one fact row and nothing was duplicated or dropped by a join.

    data_tests:
      - rows_reconcile_with:
          arguments:
            compare_model: ref('stg_erp__sales_order_lines')
            compare_filter: "1 = 1"     # optional
-#}
{% test rows_reconcile_with(model, compare_model, compare_filter=none, model_filter=none) %}
    with model_rows as (
        select count(*) as n from {{ model }} {% if model_filter %}where {{ model_filter }}{% endif %}
    ),
    compare_rows as (
        select count(*) as n from {{ compare_model }} {% if compare_filter %}where {{ compare_filter }}{% endif %}
    )
    select model_rows.n as model_rows, compare_rows.n as compare_rows
    from model_rows cross join compare_rows
    where model_rows.n <> compare_rows.n
{% endtest %}
