{#-
  Generic test: the combination of `combination_of_columns` is unique in the model (a multi-column key).
  Same contract as dbt_utils.unique_combination_of_columns (dbt packages are not available here).

    data_tests:
      - unique_combination_of_columns:
          arguments:
            combination_of_columns: [order_id, line_no]
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns_csv = combination_of_columns | join(', ') %}
    select
        {{ columns_csv }},
        count(*) as n_records
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1
{% endtest %}
