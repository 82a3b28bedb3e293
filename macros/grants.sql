{#-
  dbt's `grants` config (the public marts grant SELECT to the BI role, dbt_project.yml) is applied on
  PostgreSQL only. Both overrides below replace the adapter's macro of the same name (the root project
  comes first in dbt's dispatch):
    DuckDB  dbt-duckdb would warn "Grants for relations are not supported by DuckDB" at every run; the BI
            copy is DuckDB's access boundary (smb_warehouse/core/warehouse.py: public marts only).
    Spark   dbt-spark would run SHOW GRANTS / GRANT, which Spark without table access control rejects;
            on Databricks, table ACLs (Unity Catalog) are the platform's to set, not this project's.
-#}
{% macro duckdb__apply_grants(relation, grant_config, should_revoke=True) -%}
{%- endmacro %}

{% macro spark__apply_grants(relation, grant_config, should_revoke=True) -%}
{%- endmacro %}
