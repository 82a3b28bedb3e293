{#-
  dbt-duckdb warns "Grants for relations are not supported by DuckDB" at every run that builds a model with
  a `grants` config (the public marts have one, for PostgreSQL). On DuckDB the BI copy is the access
  boundary (smb_warehouse/core/warehouse.py: public marts only), so grants are ignored without the warning.
  Overrides dbt-duckdb's macro of the same name (the root project comes first in dbt's dispatch).
-#}
{% macro duckdb__apply_grants(relation, grant_config, should_revoke=True) -%}
{%- endmacro %}
