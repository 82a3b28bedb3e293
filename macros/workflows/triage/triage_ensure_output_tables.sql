{#-
  triage_ensure_output_tables()

  Creates EMPTY triage.{ticket_predictions, kb_suggestions} when they do not exist yet, so a plain
  `dbt build` can build the triage marts reading them as sources. Never replaces existing tables: the
  Dagster asset in orchestration/triage owns their content. Keep the columns in step with
  smb_warehouse/triage/tables.py (the contract). Meant for `on-run-start`.
-#}
{% macro triage_ensure_output_tables() -%}
    create schema if not exists triage;
    create table if not exists triage.ticket_predictions (
        support_ticket_id varchar, predicted_category varchar, category_confidence double,
        predicted_priority varchar, priority_confidence double, suggested_team varchar, route varchar,
        is_auto_triaged boolean, label_split varchar, desk_category varchar, desk_priority varchar,
        category_model_version varchar, priority_model_version varchar, predicted_at timestamp, run_id varchar
    );
    create table if not exists triage.kb_suggestions (
        support_ticket_id varchar, suggestion_rank integer, support_article_id varchar, similarity double,
        run_id varchar
    );
{%- endmacro %}
