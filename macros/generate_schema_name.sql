{#-
  Custom schemas are used as-is: a model configured with `schema: staging` lands in `staging`,
  not `<target_schema>_staging`. Nodes without a custom schema use the target schema.

  var('schema_suffix') (default empty) is appended to every custom schema: write-audit-publish on
  PostgreSQL builds into `staging__candidate`, `marts__candidate`, ... and renames them into place in one
  transaction once the build passed (smb_warehouse/core/postgres_publish.py). DuckDB's write-audit-publish
  is by file (a candidate file renamed over the published one) and never sets it.

  On PostgreSQL a build without a suffix would replace the published marts table by table before their
  tests ran: refused unless var('postgres_direct_build') says that is meant (a scratch database).
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set suffix = var('schema_suffix', '') -%}
    {%- if target.type == 'postgres' and not suffix and not var('postgres_direct_build', false) -%}
        {{ exceptions.raise_compiler_error(
            "on PostgreSQL, build through write-audit-publish: python -m smb_warehouse.core.postgres_publish"
            ~ " (or pass --vars '{postgres_direct_build: true}' to build straight into the published schemas)") }}
    {%- endif -%}
    {%- if suffix and not modules.re.match('^__[a-z0-9_]+\\Z', suffix) -%}
        {{ exceptions.raise_compiler_error(
            "var schema_suffix must look like __candidate (two underscores, then a-z, 0-9, _), not " ~ suffix) }}
    {%- endif -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}{{ suffix }}
    {%- endif -%}
{%- endmacro %}
