{#-
  create_python_written_tables()

  Creates EMPTY every table Python writes, when it does not exist yet, so a plain `dbt build` outside
  Dagster (CI, a fresh dev database) can build the models that read them as sources. Never replaces an
  existing table: the Dagster assets own their content. Meant for `on-run-start` in dbt_project.yml.

  Driven by the single declaration: every source in models/sources/ marked `config.meta.written_by: python`
  (graph.sources), its columns in yml order with `data_type`, `constraints: [{type: not_null}]` and the
  table's `config.meta.primary_key`. smb_warehouse/core/python_tables.py reads the same files for the
  Python writers, so the two cannot drift apart.

  Column types go through python_table_type(data_type) (macros/cross_db/python_table_type.sql): the declared
  type (DuckDB names) in the engine's spelling.
-#}
{% macro create_python_written_tables() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set statements = [] -%}
    {%- set schemas = [] -%}
    {%- for node in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- if node.meta.get('written_by') == 'python' -%}
            {%- if node.schema not in schemas -%}
                {%- do schemas.append(node.schema) -%}
                {%- do statements.append('create schema if not exists ' ~ adapter.quote(node.schema)) -%}
            {%- endif -%}
            {%- do statements.append(smb_warehouse.python_table_ddl(node)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(smb_warehouse.run_statements(statements)) }}
{%- endmacro %}


{#- `create table if not exists <schema>.<table> (<columns>)` for one Python-written source node. -#}
{% macro python_table_ddl(node) -%}
    {%- set parts = [] -%}
    {%- for column in node.columns.values() -%}
        {%- if not column.data_type -%}
            {{ exceptions.raise_compiler_error("source " ~ node.source_name ~ "." ~ node.name ~ "." ~ column.name
                ~ " has no data_type: every column of a Python-written table needs one (models/sources/)") }}
        {%- endif -%}
        {%- set not_null = column.constraints | selectattr('type', 'equalto', 'not_null') | list -%}
        {%- do parts.append(adapter.quote(column.name) ~ ' ' ~ smb_warehouse.python_table_type(column.data_type)
                            ~ (' not null' if not_null else '')) -%}
    {%- endfor -%}
    {%- set primary_key = node.meta.get('primary_key') or [] -%}
    {%- if primary_key is string -%}{%- set primary_key = [primary_key] -%}{%- endif -%}
    {%- set quoted = [] -%}
    {%- for name in primary_key -%}{%- do quoted.append(adapter.quote(name)) -%}{%- endfor -%}
    {%- set key = smb_warehouse.primary_key_clause(quoted) -%}
    {%- if key -%}{%- do parts.append(key) -%}{%- endif -%}
    {%- set storage = smb_warehouse.table_storage_clause() -%}
    {{ return('create table if not exists ' ~ adapter.quote(node.schema) ~ '.' ~ adapter.quote(node.identifier)
              ~ ' (' ~ parts | join(', ') ~ ')' ~ (' ' ~ storage if storage else '')) }}
{%- endmacro %}
