{#-
  grant_bi_schema_usage(): run by `on-run-end` (dbt_project.yml). dbt's `grants` config gives SELECT on a
  table; a role also needs USAGE on its schema to reach it. For every public model (`access: public`) this
  run built successfully, USAGE on its schema for every role its `grants.select` names. Idempotent.
    DuckDB      nothing: grants do not exist; BI tools read the BI copy, which holds only the public marts
    PostgreSQL  grant usage on schema <schema> to <role>, for a direct build only (var postgres_direct_build).
                A write-audit-publish build (var schema_suffix) grants nothing here: the BI role must not
                reach a candidate, even a refused one left for inspection; the publish grants USAGE on
                the schemas it renames into place (smb_warehouse/core/postgres_publish.py).
    Spark       nothing: table ACLs are the platform's (Databricks Unity Catalog), not this project's
-#}
{% macro grant_bi_schema_usage() -%}
    {{ return(adapter.dispatch('grant_bi_schema_usage', 'smb_warehouse')()) }}
{%- endmacro %}

{% macro default__grant_bi_schema_usage() -%}
    {{ return('') }}
{%- endmacro %}

{% macro postgres__grant_bi_schema_usage() -%}
    {%- if not execute or var('schema_suffix', '') -%}{{ return('') }}{%- endif -%}
    {%- set pairs = [] -%}
    {%- for result in results if result.status == 'success' and result.node.resource_type == 'model'
            and result.node.access == 'public' -%}
        {%- for role in (result.node.config.grants or {}).get('select', []) -%}
            {%- set pair = (result.node.schema, role) -%}
            {%- if pair not in pairs -%}{%- do pairs.append(pair) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for schema, role in pairs | sort -%}
        {%- do statements.append('grant usage on schema ' ~ adapter.quote(schema) ~ ' to ' ~ adapter.quote(role)) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n') ~ (';' if statements else '')) }}
{%- endmacro %}

{% macro spark__grant_bi_schema_usage() -%}
    {{ return('') }}
{%- endmacro %}
