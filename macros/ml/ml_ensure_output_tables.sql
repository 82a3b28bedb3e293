{#-
  ml_ensure_output_tables()

  Creates EMPTY ml.{model_registry, model_registry_metrics, demand_forecasts, demand_forecast_log,
  drift_metrics, forecast_quality} when they do not exist yet, so a plain `dbt build` outside Dagster
  can build the kpi models that read them as sources. Never replaces existing tables: the Dagster assets
  in orchestration/forecasting own their content. Keep in step with smb_warehouse/forecasting/tables.py and
  smb_warehouse/core/registry.py (the DDL there is the contract; NOT NULL / keys are enforced by the Python writers).
-#}
{% macro ml_ensure_output_tables() -%}
    create schema if not exists ml;
    create table if not exists ml.model_registry (
        model_name varchar, model_version varchar, aliases varchar, is_champion boolean, status varchar,
        gate_status varchar, run_id varchar, experiment_id varchar, data_fingerprint varchar, code_version varchar,
        training_window_start date, training_window_end date, description varchar, created_at timestamp,
        last_updated_at timestamp, mirrored_at timestamp
    );
    create table if not exists ml.model_registry_metrics (
        model_name varchar, model_version varchar, metric_name varchar, metric_value double, mirrored_at timestamp
    );
    create table if not exists ml.demand_forecasts (
        sku varchar, location_id varchar, origin_date date, forecast_date date, horizon integer,
        prediction double, lower double, upper double, model_name varchar, model_version varchar,
        mlflow_run_id varchar, feature_snapshot varchar, scored_at timestamp
    );
    create table if not exists ml.demand_forecast_log (
        sku varchar, location_id varchar, origin_date date, forecast_date date, horizon integer,
        prediction double, lower double, upper double, model_name varchar, model_version varchar,
        mlflow_run_id varchar, feature_snapshot varchar, scored_at timestamp
    );
    create table if not exists ml.drift_metrics (
        computed_at timestamp, dagster_run_id varchar, model_name varchar, model_version varchar,
        drift_kind varchar, column_name varchar, method varchar, drift_score double, threshold double,
        drifted boolean, reference_start date, reference_end date, current_start date, current_end date,
        report_path varchar
    );
    create table if not exists ml.forecast_quality (
        computed_at timestamp, dagster_run_id varchar, model_name varchar, model_version varchar,
        evaluation_source varchar, metric_name varchar, metric_value double, n_points bigint,
        window_start date, window_end date, report_path varchar
    );
{%- endmacro %}
