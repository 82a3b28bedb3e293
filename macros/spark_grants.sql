{#-
  Spark (dbt-spark) applies a model's `grants` with SHOW GRANTS / GRANT, which open-source Spark SQL 3.5 does
  not have (they are Databricks SQL): every public mart (their `grants` are for PostgreSQL's BI role) would
  fail on `show grants on ...`. On Spark the access boundary is the metastore's and the storage's, outside
  dbt, so grants are ignored, as on DuckDB (duckdb_grants.sql). dbt-databricks has its own adapter prefix
  (databricks__), which this does not touch.
  Overrides dbt's default__apply_grants for Spark (the root project comes first in dbt's dispatch).
-#}
{% macro spark__apply_grants(relation, grant_config, should_revoke=True) -%}
{%- endmacro %}
