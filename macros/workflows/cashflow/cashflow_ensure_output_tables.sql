{#-
  cashflow_ensure_output_tables()

  Creates EMPTY cashflow.{bank_txn_scores, alert_deliveries} when they do not exist yet, so a plain
  `dbt build` (CI, a fresh dev database) can build the models reading them as sources. Never replaces
  existing tables: the Dagster assets in orchestration/cashflow own their content. Keep the columns in
  step with smb_warehouse/cashflow/tables.py (the contract). Meant for `on-run-start`.
-#}
{% macro cashflow_ensure_output_tables() -%}
    create schema if not exists cashflow;
    create table if not exists cashflow.bank_txn_scores (
        finance_bank_txn_id varchar, anomaly_score double, amount_robust_z double, isolation_score double,
        is_unusual_amount boolean, is_new_counterparty boolean, is_odd_timing boolean, is_duplicate_candidate boolean,
        is_without_payment_record boolean, anomaly_reason varchar, model_version varchar, scored_at timestamp,
        run_id varchar
    );
    create table if not exists cashflow.alert_deliveries (
        alert_id varchar, channel varchar, target varchar, delivered boolean, detail varchar,
        notified_at timestamp, run_id varchar
    );
{%- endmacro %}
