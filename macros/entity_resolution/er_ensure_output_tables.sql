{#-
  er_ensure_output_tables()

  Creates EMPTY entity_resolution.{entity_map, match_evidence, review_queue} when they do not exist yet,
  so a plain `dbt build` outside Dagster (CI, a fresh dev database) can build the marts that read them as
  sources. Never replaces existing tables: the Dagster asset entity_resolution/* owns their content.
  Meant for `on-run-start` in dbt_project.yml. Keep the columns in step with
  smb_warehouse/entity_resolution/tables.py (the contract).
-#}
{% macro er_ensure_output_tables() -%}
    create schema if not exists entity_resolution;
    create table if not exists entity_resolution.entity_map (
        entity_type varchar, source_system varchar, source_entity varchar, source_id varchar,
        record_key varchar, unified_id varchar, match_rule varchar, match_score double,
        resolved_at timestamp, er_run_id varchar
    );
    create table if not exists entity_resolution.match_evidence (
        entity_type varchar, left_record_key varchar, right_record_key varchar, decided_by varchar,
        match_probability double, match_weight double, comparison_detail varchar
    );
    create table if not exists entity_resolution.review_queue (
        entity_type varchar, left_record_key varchar, right_record_key varchar, match_probability double,
        left_summary varchar, right_summary varchar, status varchar, created_at timestamp
    );
{%- endmacro %}
