{#-
  recon_ensure_output_tables()

  Creates EMPTY reconciliation.{candidate_scores, review_decisions} when they do not exist yet, so a plain
  `dbt build` outside Dagster can build the outcome model and KPIs that read them as sources. Never replaces
  existing tables: the Dagster asset reconciliation/* owns their content. Meant for `on-run-start`.
  Keep the columns in step with smb_warehouse/reconciliation/tables.py (the contract).
-#}
{% macro recon_ensure_output_tables() -%}
    create schema if not exists reconciliation;
    create table if not exists reconciliation.candidate_scores (
        invoice_id varchar, po_number varchar, match_score double, model_name varchar,
        model_version varchar, scored_at timestamp, recon_run_id varchar
    );
    create table if not exists reconciliation.review_decisions (
        decision_id varchar, invoice_id varchar, action varchar, po_number varchar, decided_by varchar,
        reason varchar, decided_at timestamp
    );
{%- endmacro %}
